//! `#[simloop::test]`: an `async fn` becomes a `#[test]` that sweeps its body with
//! `simloop::check`.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Ident, LitStr, Path};

use crate::item::{fallback, parse_crate_path, TestFn};

const MACRO: &str = "simloop::test";

/// The macro's whole job, on `proc_macro2` tokens so unit tests can call it. On an error
/// the output is the error followed by the unchanged item (so one mistake gives one
/// message, not a cascade of "function not found").
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    match try_expand(args, item.clone()) {
        Ok(tokens) => tokens,
        Err(e) => fallback(e, item),
    }
}

fn try_expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let krate = parse_args(args)?;
    let f = TestFn::parse(item, MACRO)?;
    f.refuse_test_attr(MACRO)?;
    f.refuse_inputs(MACRO)?;

    let attrs = &f.outer_attrs;
    let vis = &f.item.vis;
    let name = &f.item.sig.ident;
    let body_name = Ident::new("__simloop_test_body", Span::call_site());
    let body = f.body_fn(&body_name);
    Ok(quote! {
        #(#attrs)*
        #[::core::prelude::v1::test]
        #vis fn #name() {
            #body
            #krate::check(#body_name)
        }
    })
}

/// The only argument is `crate = "path"` (default `::simloop`).
fn parse_args(args: TokenStream) -> syn::Result<Path> {
    let mut krate: Option<Path> = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("crate") {
            if krate.is_some() {
                return Err(meta.error("`crate` is set twice"));
            }
            let lit: LitStr = meta.value()?.parse()?;
            krate = Some(parse_crate_path(&lit)?);
            Ok(())
        } else {
            let path = &meta.path;
            let name = quote!(#path).to_string().replace(' ', "");
            Err(meta.error(format!(
                "unknown argument `{name}` for #[{MACRO}]; the only accepted argument is \
                 `crate = \"path::to::simloop\"`"
            )))
        }
    });
    syn::parse::Parser::parse2(parser, args)?;
    Ok(krate.unwrap_or_else(|| syn::parse_quote!(::simloop)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(args: TokenStream, item: TokenStream) -> String {
        expand(args, item).to_string()
    }

    #[test]
    fn expands_to_a_test_fn_calling_check_with_a_nested_async_fn() {
        let out = expand_str(
            quote!(),
            quote!(
                async fn adds() {
                    assert_eq!(1 + 1, 2);
                }
            ),
        );
        let want = quote! {
            #[::core::prelude::v1::test]
            fn adds() {
                async fn __simloop_test_body() { assert_eq!(1 + 1, 2); }
                ::simloop::check(__simloop_test_body)
            }
        };
        assert_eq!(out, want.to_string());
    }

    #[test]
    fn keeps_attributes_after_it_and_the_return_type() {
        let out = expand_str(
            quote!(),
            quote! {
                /// doc
                #[should_panic(expected = "SIMLOOP_SEED=")]
                pub async fn fails() -> Result<(), String> { #![allow(unused)] Err("no".into()) }
            },
        );
        let want = quote! {
            #[doc = r" doc"]
            #[should_panic(expected = "SIMLOOP_SEED=")]
            #[::core::prelude::v1::test]
            pub fn fails() {
                async fn __simloop_test_body() -> Result<(), String> { #![allow(unused)] Err("no".into()) }
                ::simloop::check(__simloop_test_body)
            }
        };
        assert_eq!(out, want.to_string());
    }

    #[test]
    fn crate_argument_changes_the_path() {
        let out = expand_str(
            quote!(crate = "my::sim"),
            quote!(
                async fn t() {}
            ),
        );
        assert!(
            out.contains("my :: sim :: check (__simloop_test_body)"),
            "{out}"
        );
    }

    fn error_of(args: TokenStream, item: TokenStream) -> String {
        try_expand(args, item).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_problem_and_the_fix() {
        let e = error_of(
            quote!(seeds = 10),
            quote!(
                async fn t() {}
            ),
        );
        assert_eq!(
            e,
            "unknown argument `seeds` for #[simloop::test]; the only accepted argument is `crate = \"path::to::simloop\"`"
        );
        let e = error_of(
            quote!(),
            quote!(
                fn t() {}
            ),
        );
        assert_eq!(
            e,
            "#[simloop::test] goes on an `async fn`: write `async fn t()`"
        );
        let e = error_of(
            quote!(),
            quote!(
                async fn t(n: u32) {}
            ),
        );
        assert!(
            e.starts_with("#[simloop::test] functions take no arguments"),
            "{e}"
        );
        assert!(e.contains("`let n = …;`"), "{e}");
        let e = error_of(
            quote!(),
            quote!(
                #[test]
                async fn t() {}
            ),
        );
        assert!(e.contains("remove this second test attribute"), "{e}");
        let e = error_of(
            quote!(crate = "a", crate = "b"),
            quote!(
                async fn t() {}
            ),
        );
        assert_eq!(e, "`crate` is set twice");
        let e = error_of(
            quote!(crate = "not a path"),
            quote!(
                async fn t() {}
            ),
        );
        assert!(e.contains("is not a path"), "{e}");
    }

    #[test]
    fn an_error_keeps_the_item_without_its_test_attribute() {
        let out = expand_str(
            quote!(),
            quote!(
                #[test]
                #[ignore]
                async fn t() {}
            ),
        );
        assert!(out.contains("second test attribute"), "{out}");
        assert!(out.ends_with("# [ignore] async fn t () { }"), "{out}");
    }

    #[test]
    fn an_error_keeps_the_item() {
        let out = expand_str(
            quote!(bogus),
            quote!(
                async fn t() {}
            ),
        );
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.ends_with("async fn t () { }"), "{out}");
    }
}
