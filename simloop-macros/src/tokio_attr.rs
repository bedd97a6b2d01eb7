//! `#[tokio::test]` and `#[tokio::main]` for the tokio mirror (`simloop-tokio`): tokio's
//! arguments, checked by tokio's rules, turned into a call of the mirror's hidden entry
//! points. The expansion's contract (documented in `simloop-tokio/NOTES.md`):
//!
//! ```text
//! #[tokio::test(args)] async fn name() -> R { body }
//!   ⇒ #[test] fn name() {
//!         async fn __simloop_test_body() -> R { body }
//!         CRATE::__private::test_main(CRATE::__private::Options { … }, __simloop_test_body)
//!     }
//! #[tokio::main(args)] async fn name(inputs) -> R { body }
//!   ⇒ fn name(inputs) -> R {
//!         let __simloop_main_body = async move { let __simloop_ret: R = { body }; __simloop_ret };
//!         CRATE::__private::block_on_main(CRATE::__private::Options { … }, __simloop_main_body)
//!     }
//! ```
//!
//! `CRATE` is `::simloop_tokio` unless `crate = "path"` says otherwise. `Options` has the
//! fields `macro_name: &'static str`, `flavor: Flavor` (`CurrentThread`, `MultiThread` or
//! `Local`), `worker_threads: Option<usize>`, `start_paused: Option<bool>`,
//! `unhandled_panic: Option<UnhandledPanic>` (`Ignore`, `ShutdownRuntime`) and
//! `name: Option<&'static str>`; an `Option` is `None` when the argument was not written.

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::{Ident, Lit, Path, ReturnType, Type};

use crate::item::{fallback, parse_crate_path, TestFn};

/// Which attribute is expanding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[tokio::test]`: default flavor `current_thread`; the body is swept.
    Test,
    /// `#[tokio::main]`: default flavor `multi_thread`; the body runs once.
    Main,
}

impl Kind {
    fn macro_name(self) -> &'static str {
        match self {
            Kind::Test => "tokio::test",
            Kind::Main => "tokio::main",
        }
    }
}

/// The runtime flavors tokio accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    CurrentThread,
    MultiThread,
    Local,
}

/// `unhandled_panic = "…"`'s values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnhandledPanic {
    Ignore,
    ShutdownRuntime,
}

/// Every argument name tokio's attributes accept, in tokio's order.
pub(crate) const ACCEPTED: &str =
    "`flavor`, `worker_threads`, `start_paused`, `crate`, `unhandled_panic`, `name`";

/// The arguments as written, each with the span of its value for errors.
#[derive(Default)]
pub(crate) struct Args {
    flavor: Option<(Flavor, Span)>,
    worker_threads: Option<(usize, Span)>,
    start_paused: Option<(bool, Span)>,
    krate: Option<Path>,
    unhandled_panic: Option<(UnhandledPanic, Span)>,
    name: Option<String>,
}

/// The arguments after tokio's rules: the flavor resolved, every combination checked.
#[derive(Debug, PartialEq)]
pub(crate) struct Options {
    pub(crate) flavor: Flavor,
    pub(crate) worker_threads: Option<usize>,
    pub(crate) start_paused: Option<bool>,
    pub(crate) unhandled_panic: Option<UnhandledPanic>,
    pub(crate) name: Option<String>,
}

fn err(span: Span, msg: impl std::fmt::Display) -> syn::Error {
    syn::Error::new(span, msg)
}

impl Args {
    /// Parses `name = literal, …` as tokio does: names are case-insensitive, values are
    /// literals, each name at most once.
    pub(crate) fn parse(args: TokenStream, kind: Kind) -> syn::Result<Args> {
        let mut out = Args::default();
        let macro_name = kind.macro_name();
        let parser = syn::meta::parser(|meta| {
            let path = &meta.path;
            let written = quote!(#path).to_string().replace(' ', "");
            let key = written.to_lowercase();
            if !meta.input.peek(syn::Token![=]) {
                let hint = match key.as_str() {
                    "multi_thread" | "threaded_scheduler" => {
                        format!("set the flavor with #[{macro_name}(flavor = \"multi_thread\")]")
                    }
                    "current_thread" | "basic_scheduler" | "single_threaded" => {
                        format!("set the flavor with #[{macro_name}(flavor = \"current_thread\")]")
                    }
                    "flavor" | "worker_threads" | "start_paused" | "crate" | "unhandled_panic"
                    | "name" => format!("`{written}` needs a value: `{written} = …`"),
                    _ => unknown(&written, macro_name),
                };
                return Err(meta.error(hint));
            }
            let expr: syn::Expr = meta.value()?.parse()?;
            let syn::Expr::Lit(syn::ExprLit { lit, .. }) = &expr else {
                return Err(syn::Error::new_spanned(
                    &expr,
                    format!("the value of `{written}` must be a literal"),
                ));
            };
            let span = lit.span();
            let twice = || err(span, format!("`{key}` is set twice"));
            match key.as_str() {
                "flavor" => {
                    if out.flavor.is_some() {
                        return Err(twice());
                    }
                    out.flavor = Some((parse_flavor(lit)?, span));
                }
                "worker_threads" => {
                    if out.worker_threads.is_some() {
                        return Err(twice());
                    }
                    let Lit::Int(n) = lit else {
                        return Err(err(
                            span,
                            "`worker_threads` must be an integer, e.g. `worker_threads = 2`",
                        ));
                    };
                    let n: usize = n.base10_parse()?;
                    if n == 0 {
                        return Err(err(span, "`worker_threads` must be at least 1"));
                    }
                    out.worker_threads = Some((n, span));
                }
                "start_paused" => {
                    if out.start_paused.is_some() {
                        return Err(twice());
                    }
                    let Lit::Bool(b) = lit else {
                        return Err(err(span, "`start_paused` must be `true` or `false`"));
                    };
                    out.start_paused = Some((b.value, span));
                }
                "crate" => {
                    if out.krate.is_some() {
                        return Err(twice());
                    }
                    let Lit::Str(s) = lit else {
                        return Err(err(span, "`crate` must be a string holding a path, e.g. `crate = \"::simloop_tokio\"`"));
                    };
                    out.krate = Some(parse_crate_path(s)?);
                }
                "unhandled_panic" => {
                    if out.unhandled_panic.is_some() {
                        return Err(twice());
                    }
                    out.unhandled_panic = Some((parse_unhandled_panic(lit)?, span));
                }
                "name" => {
                    if out.name.is_some() {
                        return Err(twice());
                    }
                    let Lit::Str(s) = lit else {
                        return Err(err(span, "`name` must be a string"));
                    };
                    out.name = Some(s.value());
                }
                "core_threads" => {
                    return Err(err(span, "`core_threads` was renamed `worker_threads`"));
                }
                _ => return Err(meta.error(unknown(&written, macro_name))),
            }
            Ok(())
        });
        syn::parse::Parser::parse2(parser, args)?;
        Ok(out)
    }

    /// tokio's rules: the default flavor is `current_thread` for tests and `multi_thread`
    /// for main; `worker_threads` needs `multi_thread`; `start_paused` and
    /// `unhandled_panic` need `current_thread` or `local`.
    pub(crate) fn resolve(&self, kind: Kind) -> syn::Result<Options> {
        let macro_name = kind.macro_name();
        let flavor = self.flavor.map_or(
            match kind {
                Kind::Test => Flavor::CurrentThread,
                Kind::Main => Flavor::MultiThread,
            },
            |(f, _)| f,
        );
        let single = matches!(flavor, Flavor::CurrentThread | Flavor::Local);
        if let (true, Some((_, span))) = (single, self.worker_threads) {
            return Err(err(
                span,
                format!("`worker_threads` needs the multi-thread flavor: #[{macro_name}(flavor = \"multi_thread\", worker_threads = …)]"),
            ));
        }
        if let (false, Some((_, span))) = (single, self.start_paused) {
            return Err(err(
                span,
                format!("`start_paused` needs the current-thread flavor: #[{macro_name}(flavor = \"current_thread\", start_paused = …)]"),
            ));
        }
        if let (false, Some((_, span))) = (single, self.unhandled_panic) {
            return Err(err(
                span,
                format!("`unhandled_panic` needs the current-thread flavor: #[{macro_name}(flavor = \"current_thread\", unhandled_panic = …)]"),
            ));
        }
        Ok(Options {
            flavor,
            worker_threads: self.worker_threads.map(|(n, _)| n),
            start_paused: self.start_paused.map(|(b, _)| b),
            unhandled_panic: self.unhandled_panic.map(|(u, _)| u),
            name: self.name.clone(),
        })
    }
}

fn unknown(written: &str, macro_name: &str) -> String {
    format!("unknown argument `{written}` for #[{macro_name}]; accepted arguments: {ACCEPTED}")
}

fn parse_flavor(lit: &Lit) -> syn::Result<Flavor> {
    let Lit::Str(s) = lit else {
        return Err(err(
            lit.span(),
            "`flavor` must be a string, e.g. `flavor = \"current_thread\"`",
        ));
    };
    match s.value().as_str() {
        "current_thread" => Ok(Flavor::CurrentThread),
        "multi_thread" => Ok(Flavor::MultiThread),
        "local" => Ok(Flavor::Local),
        "single_thread" | "basic_scheduler" => {
            Err(err(s.span(), "this flavor is called `current_thread` now"))
        }
        "threaded_scheduler" => Err(err(s.span(), "this flavor is called `multi_thread` now")),
        other => Err(err(
            s.span(),
            format!("unknown flavor `{other}`; the flavors are `current_thread`, `multi_thread` and `local`"),
        )),
    }
}

fn parse_unhandled_panic(lit: &Lit) -> syn::Result<UnhandledPanic> {
    let msg = |v: &str| {
        format!(
            "unknown `unhandled_panic` value `{v}`; the values are `ignore` and `shutdown_runtime`"
        )
    };
    let Lit::Str(s) = lit else {
        return Err(err(lit.span(), msg(&lit.to_token_stream().to_string())));
    };
    match s.value().as_str() {
        "ignore" => Ok(UnhandledPanic::Ignore),
        "shutdown_runtime" => Ok(UnhandledPanic::ShutdownRuntime),
        other => Err(err(s.span(), msg(other))),
    }
}

impl Options {
    /// The `CRATE::__private::Options { … }` literal the expansion passes.
    fn to_tokens(&self, krate: &Path, kind: Kind) -> TokenStream {
        let some = |t: TokenStream| quote!(::core::option::Option::Some(#t));
        let none = quote!(::core::option::Option::None);
        let macro_name = kind.macro_name();
        let flavor = match self.flavor {
            Flavor::CurrentThread => quote!(CurrentThread),
            Flavor::MultiThread => quote!(MultiThread),
            Flavor::Local => quote!(Local),
        };
        let worker_threads = self
            .worker_threads
            .map_or(none.clone(), |n| some(quote!(#n)));
        let start_paused = self.start_paused.map_or(none.clone(), |b| some(quote!(#b)));
        let unhandled_panic = self.unhandled_panic.map_or(none.clone(), |u| {
            let v = match u {
                UnhandledPanic::Ignore => quote!(Ignore),
                UnhandledPanic::ShutdownRuntime => quote!(ShutdownRuntime),
            };
            some(quote!(#krate::__private::UnhandledPanic::#v))
        });
        let name = self.name.as_ref().map_or(none, |n| some(quote!(#n)));
        quote! {
            #krate::__private::Options {
                macro_name: #macro_name,
                flavor: #krate::__private::Flavor::#flavor,
                worker_threads: #worker_threads,
                start_paused: #start_paused,
                unhandled_panic: #unhandled_panic,
                name: #name,
            }
        }
    }
}

/// The attribute's whole job on `proc_macro2` tokens. On an error: the error, then the
/// item unchanged.
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    expand_with(kind, "test_main", args, item)
}

/// [`expand`], with `runner` (a function of `CRATE::__private`) running a test body:
/// `test_main` sweeps it, `test_fifo` runs it once under FIFO.
pub(crate) fn expand_with(
    kind: Kind,
    runner: &str,
    args: TokenStream,
    item: TokenStream,
) -> TokenStream {
    match try_expand(kind, runner, args, item.clone()) {
        Ok(tokens) => tokens,
        Err(e) => fallback(e, item),
    }
}

fn try_expand(
    kind: Kind,
    runner: &str,
    args: TokenStream,
    item: TokenStream,
) -> syn::Result<TokenStream> {
    let runner = Ident::new(runner, Span::call_site());
    let macro_name = kind.macro_name();
    let f = TestFn::parse(item, macro_name)?;
    let parsed = Args::parse(args, kind)?;
    let options = parsed.resolve(kind)?;
    let krate = parsed
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::simloop_tokio));
    let opts = options.to_tokens(&krate, kind);
    let attrs = &f.outer_attrs;
    let vis = &f.item.vis;
    match kind {
        Kind::Test => {
            f.refuse_test_attr(macro_name)?;
            f.refuse_inputs(macro_name)?;
            let name = &f.item.sig.ident;
            let body_name = Ident::new("__simloop_test_body", Span::call_site());
            let body = f.body_fn(&body_name);
            Ok(quote! {
                #(#attrs)*
                #[::core::prelude::v1::test]
                #vis fn #name() {
                    #body
                    #krate::__private::#runner(#opts, #body_name)
                }
            })
        }
        Kind::Main => {
            let sig = &f.item.sig;
            if sig.ident == "main" && !sig.inputs.is_empty() {
                return Err(syn::Error::new_spanned(
                    &sig.inputs,
                    "#[tokio::main] on `main`: `main` takes no arguments",
                ));
            }
            let mut sig = sig.clone();
            sig.asyncness = None;
            let block = &f.item.block;
            // Annotate the block's type so `?` and `return` in it infer like in the
            // `async fn`; `impl Trait` and `!` cannot be written on a `let`.
            let body = match &sig.output {
                ReturnType::Default => {
                    quote!(async move { let __simloop_ret: () = #block; __simloop_ret })
                }
                ReturnType::Type(_, ty) if writable_on_let(ty) => {
                    quote!(async move { let __simloop_ret: #ty = #block; __simloop_ret })
                }
                ReturnType::Type(..) => quote!(async move #block),
            };
            Ok(quote! {
                #(#attrs)*
                #vis #sig {
                    let __simloop_main_body = #body;
                    #krate::__private::block_on_main(#opts, __simloop_main_body)
                }
            })
        }
    }
}

fn writable_on_let(ty: &Type) -> bool {
    let text = ty.to_token_stream().to_string();
    !matches!(ty, Type::Never(_)) && !text.contains("impl ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(args: TokenStream, kind: Kind) -> syn::Result<Options> {
        Args::parse(args, kind)?.resolve(kind)
    }

    fn error(args: TokenStream, kind: Kind) -> String {
        opts(args, kind).unwrap_err().to_string()
    }

    #[test]
    fn defaults_follow_tokio() {
        let t = opts(quote!(), Kind::Test).unwrap();
        assert_eq!(
            t,
            Options {
                flavor: Flavor::CurrentThread,
                worker_threads: None,
                start_paused: None,
                unhandled_panic: None,
                name: None
            }
        );
        assert_eq!(
            opts(quote!(), Kind::Main).unwrap().flavor,
            Flavor::MultiThread
        );
    }

    #[test]
    fn every_argument_parses() {
        let o = opts(
            quote!(
                flavor = "current_thread",
                start_paused = true,
                unhandled_panic = "shutdown_runtime",
                name = "rt",
                crate = "::x"
            ),
            Kind::Test,
        )
        .unwrap();
        assert_eq!(o.flavor, Flavor::CurrentThread);
        assert_eq!(o.start_paused, Some(true));
        assert_eq!(o.unhandled_panic, Some(UnhandledPanic::ShutdownRuntime));
        assert_eq!(o.name.as_deref(), Some("rt"));
        let o = opts(
            quote!(flavor = "multi_thread", worker_threads = 4),
            Kind::Test,
        )
        .unwrap();
        assert_eq!((o.flavor, o.worker_threads), (Flavor::MultiThread, Some(4)));
        let o = opts(
            quote!(
                Flavor = "local",
                start_paused = false,
                unhandled_panic = "ignore"
            ),
            Kind::Main,
        )
        .unwrap();
        assert_eq!(
            o.flavor,
            Flavor::Local,
            "names are case-insensitive, as in tokio"
        );
        assert_eq!(o.start_paused, Some(false));
        assert_eq!(o.unhandled_panic, Some(UnhandledPanic::Ignore));
    }

    #[test]
    fn unknown_arguments_are_named_with_the_accepted_list() {
        assert_eq!(
            error(quote!(seed = 3), Kind::Test),
            "unknown argument `seed` for #[tokio::test]; accepted arguments: `flavor`, `worker_threads`, `start_paused`, `crate`, `unhandled_panic`, `name`"
        );
        assert_eq!(
            error(quote!(bogus), Kind::Main),
            "unknown argument `bogus` for #[tokio::main]; accepted arguments: `flavor`, `worker_threads`, `start_paused`, `crate`, `unhandled_panic`, `name`"
        );
    }

    #[test]
    fn tokio_rules_are_enforced() {
        let cases: &[(TokenStream, Kind, &str)] = &[
            (
                quote!(worker_threads = 2),
                Kind::Test,
                "`worker_threads` needs the multi-thread flavor",
            ),
            (
                quote!(start_paused = true),
                Kind::Main,
                "`start_paused` needs the current-thread flavor",
            ),
            (
                quote!(flavor = "multi_thread", unhandled_panic = "ignore"),
                Kind::Test,
                "`unhandled_panic` needs the current-thread flavor",
            ),
            (
                quote!(flavor = "multi_thread", worker_threads = 0),
                Kind::Test,
                "`worker_threads` must be at least 1",
            ),
            (
                quote!(worker_threads = "2"),
                Kind::Main,
                "`worker_threads` must be an integer",
            ),
            (
                quote!(start_paused = 1),
                Kind::Test,
                "`start_paused` must be `true` or `false`",
            ),
            (
                quote!(flavor = "threads"),
                Kind::Test,
                "unknown flavor `threads`",
            ),
            (
                quote!(flavor = "basic_scheduler"),
                Kind::Test,
                "called `current_thread` now",
            ),
            (
                quote!(unhandled_panic = "abort"),
                Kind::Test,
                "unknown `unhandled_panic` value `abort`",
            ),
            (
                quote!(flavor = "local", flavor = "local"),
                Kind::Test,
                "`flavor` is set twice",
            ),
            (
                quote!(multi_thread),
                Kind::Test,
                "set the flavor with #[tokio::test(flavor = \"multi_thread\")]",
            ),
            (
                quote!(start_paused),
                Kind::Test,
                "`start_paused` needs a value",
            ),
            (
                quote!(core_threads = 2),
                Kind::Main,
                "renamed `worker_threads`",
            ),
            (
                quote!(start_paused = some_const),
                Kind::Test,
                "must be a literal",
            ),
        ];
        for (args, kind, want) in cases {
            let got = error(args.clone(), *kind);
            assert!(
                got.contains(want),
                "args `{args}`: got {got:?}, want it to contain {want:?}"
            );
        }
    }

    #[test]
    fn test_expansion_calls_the_mirrors_test_main() {
        let out = expand(
            Kind::Test,
            quote!(start_paused = true),
            quote! {
                #[should_panic]
                async fn ticks() -> Result<(), String> { Ok(()) }
            },
        );
        let want = quote! {
            #[should_panic]
            #[::core::prelude::v1::test]
            fn ticks() {
                async fn __simloop_test_body() -> Result<(), String> { Ok(()) }
                ::simloop_tokio::__private::test_main(
                    ::simloop_tokio::__private::Options {
                        macro_name: "tokio::test",
                        flavor: ::simloop_tokio::__private::Flavor::CurrentThread,
                        worker_threads: ::core::option::Option::None,
                        start_paused: ::core::option::Option::Some(true),
                        unhandled_panic: ::core::option::Option::None,
                        name: ::core::option::Option::None,
                    },
                    __simloop_test_body
                )
            }
        };
        assert_eq!(out.to_string(), want.to_string());
    }

    #[test]
    fn main_expansion_runs_the_body_once_and_keeps_the_signature() {
        let out = expand(
            Kind::Main,
            quote!(
                flavor = "multi_thread",
                worker_threads = 2,
                crate = "crate::mirror"
            ),
            quote! { pub async fn main() -> Result<(), std::io::Error> { Ok(()) } },
        );
        let want = quote! {
            pub fn main() -> Result<(), std::io::Error> {
                let __simloop_main_body = async move {
                    let __simloop_ret: Result<(), std::io::Error> = { Ok(()) };
                    __simloop_ret
                };
                crate::mirror::__private::block_on_main(
                    crate::mirror::__private::Options {
                        macro_name: "tokio::main",
                        flavor: crate::mirror::__private::Flavor::MultiThread,
                        worker_threads: ::core::option::Option::Some(2usize),
                        start_paused: ::core::option::Option::None,
                        unhandled_panic: ::core::option::Option::None,
                        name: ::core::option::Option::None,
                    },
                    __simloop_main_body
                )
            }
        };
        assert_eq!(out.to_string(), want.to_string());
    }

    #[test]
    fn main_refuses_arguments_only_on_main() {
        let e = try_expand(
            Kind::Main,
            "test_main",
            quote!(),
            quote!(
                async fn main(x: u8) {}
            ),
        )
        .unwrap_err();
        assert!(e.to_string().contains("`main` takes no arguments"), "{e}");
        assert!(try_expand(
            Kind::Main,
            "test_main",
            quote!(),
            quote!(
                async fn run(x: u8) -> u8 {
                    x
                }
            )
        )
        .is_ok());
    }

    #[test]
    fn test_refuses_inputs_and_a_second_test_attribute() {
        let e = try_expand(
            Kind::Test,
            "test_main",
            quote!(),
            quote!(
                async fn t(x: u8) {}
            ),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("#[tokio::test] functions take no arguments"),
            "{e}"
        );
        let e = try_expand(
            Kind::Test,
            "test_main",
            quote!(),
            quote!(
                #[::core::prelude::v1::test]
                async fn t() {}
            ),
        )
        .unwrap_err();
        assert!(e.to_string().contains("second test attribute"), "{e}");
        let e = try_expand(
            Kind::Test,
            "test_main",
            quote!(),
            quote!(
                fn t() {}
            ),
        )
        .unwrap_err();
        assert!(e.to_string().contains("goes on an `async fn`"), "{e}");
    }
}
