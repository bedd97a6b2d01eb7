//! What both attribute families share: reading the annotated `async fn`, splitting its
//! attributes, and the `crate = "path"` argument.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{AttrStyle, Attribute, ItemFn, LitStr, Path};

/// The annotated function, its outer attributes (to keep on the generated `#[test]` fn)
/// and the function re-emitted as the body the sweep calls.
pub(crate) struct TestFn {
    pub(crate) item: ItemFn,
    /// Outer attributes (`#[should_panic]`, `#[ignore]`, doc comments, lints…), in order.
    pub(crate) outer_attrs: Vec<Attribute>,
}

impl TestFn {
    /// Parses `item` as a function; `macro_name` (e.g. `simloop::test`) words the errors.
    pub(crate) fn parse(item: TokenStream, macro_name: &str) -> syn::Result<TestFn> {
        let item: ItemFn = syn::parse2(item)?;
        if item.sig.asyncness.is_none() {
            return Err(syn::Error::new_spanned(
                item.sig.fn_token,
                format!(
                    "#[{macro_name}] goes on an `async fn`: write `async fn {}()`",
                    item.sig.ident
                ),
            ));
        }
        let outer_attrs = item
            .attrs
            .iter()
            .filter(|a| matches!(a.style, AttrStyle::Outer))
            .cloned()
            .collect();
        Ok(TestFn { item, outer_attrs })
    }

    /// Refuses a second test attribute (`#[test]`, `#[core::prelude::v1::test]`…): the
    /// generated function already is a `#[test]`.
    pub(crate) fn refuse_test_attr(&self, macro_name: &str) -> syn::Result<()> {
        match self.outer_attrs.iter().find(|a| is_test_attr(a)) {
            Some(attr) => Err(syn::Error::new_spanned(
                attr,
                format!("#[{macro_name}] already makes this function a `#[test]`: remove this second test attribute"),
            )),
            None => Ok(()),
        }
    }

    /// Refuses parameters and generics: a sweep calls the body once per seed with nothing
    /// to pass it, so everything the test uses must be built inside the body.
    pub(crate) fn refuse_inputs(&self, macro_name: &str) -> syn::Result<()> {
        let sig = &self.item.sig;
        if !sig.inputs.is_empty() {
            return Err(syn::Error::new_spanned(
                &sig.inputs,
                format!(
                    "#[{macro_name}] functions take no arguments: the sweep runs the body once per \
                     seed, so create each value the test needs inside the body (e.g. `let {} = …;`)",
                    first_input_name(sig).unwrap_or_else(|| "value".to_owned()),
                ),
            ));
        }
        if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
            return Err(syn::Error::new_spanned(
                &sig.generics,
                format!("#[{macro_name}] functions cannot be generic"),
            ));
        }
        Ok(())
    }

    /// The function as a nested, private `async fn` named `name`, with its inner
    /// attributes and body unchanged. A nested `fn` captures nothing, so a sweep can call
    /// it once per seed (it is always `Fn`), and its declared return type lets `?` work.
    pub(crate) fn body_fn(&self, name: &syn::Ident) -> TokenStream {
        let mut inner = self.item.clone();
        inner
            .attrs
            .retain(|a| matches!(a.style, AttrStyle::Inner(_)));
        inner.vis = syn::Visibility::Inherited;
        inner.sig.ident = name.clone();
        inner.into_token_stream()
    }
}

/// What an expansion that failed emits after its error: the item unchanged, minus any
/// `#[test]` attribute (rustc would add "async functions cannot be used for tests" to
/// the one error that matters).
pub(crate) fn fallback(error: syn::Error, item: TokenStream) -> TokenStream {
    let mut tokens = error.to_compile_error();
    match syn::parse2::<ItemFn>(item.clone()) {
        Ok(mut f) => {
            f.attrs.retain(|a| !is_test_attr(a));
            f.to_tokens(&mut tokens);
        }
        Err(_) => tokens.extend(item),
    }
    tokens
}

fn first_input_name(sig: &syn::Signature) -> Option<String> {
    match sig.inputs.first()? {
        syn::FnArg::Typed(pt) => match &*pt.pat {
            syn::Pat::Ident(p) => Some(p.ident.to_string()),
            _ => None,
        },
        syn::FnArg::Receiver(_) => None,
    }
}

/// `#[test]`, or `#[core::prelude::<edition>::test]` / `#[std::prelude::<edition>::test]`
/// with or without a leading `::`.
fn is_test_attr(attr: &Attribute) -> bool {
    let syn::Meta::Path(path) = &attr.meta else {
        return false;
    };
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    match names.as_slice() {
        [one] => one == "test" && path.leading_colon.is_none(),
        [root, prelude, _, last] => {
            (root == "core" || root == "std") && prelude == "prelude" && last == "test"
        }
        _ => false,
    }
}

/// Reads `crate = "path"`'s value as a path.
pub(crate) fn parse_crate_path(lit: &LitStr) -> syn::Result<Path> {
    lit.parse::<Path>().map_err(|_| {
        syn::Error::new_spanned(
            lit,
            format!(
                "`crate = {:?}` is not a path (write e.g. `crate = \"::my_simloop\"`)",
                lit.value()
            ),
        )
    })
}
