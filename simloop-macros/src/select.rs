//! `select!` for the tokio mirror: parsing tokio's syntax and expanding it to a
//! `poll_fn` whose first branch comes from the mirror (the policy's choice).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::visit_mut::VisitMut;
use syn::{Block, Expr, ExprBlock, Pat, Token};

/// At most this many branches (the disabled set is a `u64` mask, as tokio's).
const MAX_BRANCHES: usize = 64;

struct Branch {
    pat: Pat,
    fut: Expr,
    cond: Option<Expr>,
    handler: Expr,
}

struct Select {
    biased: bool,
    branches: Vec<Branch>,
    otherwise: Option<Expr>,
}

/// A handler: a block (the comma after it optional) or an expression (then a comma, or
/// the end).
fn parse_handler(input: ParseStream<'_>) -> syn::Result<Expr> {
    if input.peek(syn::token::Brace) {
        let block: Block = input.parse()?;
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
        }
        return Ok(Expr::Block(ExprBlock {
            attrs: Vec::new(),
            label: None,
            block,
        }));
    }
    let e: Expr = input.parse()?;
    if !input.is_empty() {
        input.parse::<Token![,]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                "select!: a branch's handler must be followed by `,` (or be a `{ … }` block)",
            )
        })?;
    }
    Ok(e)
}

impl Parse for Select {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut biased = false;
        if input.peek(syn::Ident) && input.peek2(Token![;]) {
            let id: syn::Ident = input.parse()?;
            if id != "biased" {
                return Err(syn::Error::new(
                    id.span(),
                    "select!: the only option before the branches is `biased;`",
                ));
            }
            input.parse::<Token![;]>()?;
            biased = true;
        }
        let mut branches = Vec::new();
        let mut otherwise = None;
        while !input.is_empty() {
            if input.peek(Token![else]) {
                let kw: Token![else] = input.parse()?;
                if otherwise.is_some() {
                    return Err(syn::Error::new(
                        kw.span,
                        "select!: more than one `else` branch",
                    ));
                }
                input.parse::<Token![=>]>()?;
                otherwise = Some(parse_handler(input)?);
                continue;
            }
            let pat = Pat::parse_multi_with_leading_vert(input)?;
            input.parse::<Token![=]>()?;
            let fut: Expr = input.parse()?;
            let cond = if input.peek(Token![,]) && input.peek2(Token![if]) {
                input.parse::<Token![,]>()?;
                input.parse::<Token![if]>()?;
                Some(input.parse::<Expr>()?)
            } else {
                None
            };
            input.parse::<Token![=>]>()?;
            let handler = parse_handler(input)?;
            branches.push(Branch {
                pat,
                fut,
                cond,
                handler,
            });
        }
        if branches.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                "select!: at least one `pattern = future => handler` branch is needed",
            ));
        }
        if branches.len() > MAX_BRANCHES {
            return Err(syn::Error::new(
                Span::call_site(),
                format!("select!: at most {MAX_BRANCHES} branches"),
            ));
        }
        Ok(Select {
            biased,
            branches,
            otherwise,
        })
    }
}

/// Removes `mut` and `ref` from bindings, so the pattern can be tested against a
/// reference to the output (which must not be moved before the branch is chosen).
struct CleanPattern;

impl VisitMut for CleanPattern {
    fn visit_pat_ident_mut(&mut self, i: &mut syn::PatIdent) {
        i.by_ref = None;
        i.mutability = None;
        syn::visit_mut::visit_pat_ident_mut(self, i);
    }
}

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    match syn::parse2::<Select>(input) {
        Ok(s) => s.expand(),
        Err(e) => e.to_compile_error(),
    }
}

impl Select {
    fn expand(&self) -> TokenStream {
        let krate = quote!(::simloop_tokio::__private);
        let n = self.branches.len();
        let n32 = n as u32;
        let biased = self.biased;
        let all: u64 = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
        let generics: Vec<_> = (0..n).map(|i| format_ident!("T{}", i)).collect();
        let variants: Vec<_> = (0..n).map(|i| format_ident!("_{}", i)).collect();
        let futs: Vec<_> = (0..n)
            .map(|i| format_ident!("__simloop_fut{}", i))
            .collect();
        let conds = self.branches.iter().enumerate().map(|(i, b)| {
            let i = i as u32;
            match &b.cond {
                Some(c) => quote!(if !(#c) { __simloop_disabled |= 1u64 << #i; }),
                None => quote!(),
            }
        });
        let builds = self.branches.iter().zip(&futs).map(|(b, name)| {
            let e = &b.fut;
            quote!(let mut #name = ::core::pin::pin!(::core::future::IntoFuture::into_future(#e));)
        });
        let polls = self.branches.iter().enumerate().map(|(i, b)| {
            let mut clean = b.pat.clone();
            CleanPattern.visit_pat_mut(&mut clean);
            let name = &futs[i];
            let v = &variants[i];
            let i = i as u32;
            quote! {
                #i => {
                    if let ::core::task::Poll::Ready(__simloop_v) =
                        ::core::future::Future::poll(#name.as_mut(), __simloop_cx)
                    {
                        let __simloop_matches = match &__simloop_v {
                            #[allow(unused_variables)]
                            #clean => true,
                            #[allow(unreachable_patterns)]
                            _ => false,
                        };
                        if __simloop_matches {
                            return ::core::task::Poll::Ready(__SimloopOut::#v(__simloop_v));
                        }
                        __simloop_disabled |= 1u64 << #i;
                    }
                }
            }
        });
        let arms = self.branches.iter().zip(&variants).map(|(b, v)| {
            let pat = &b.pat;
            let h = &b.handler;
            quote!(__SimloopOut::#v(#pat) => #h,)
        });
        let otherwise = match &self.otherwise {
            Some(e) => quote!(#e),
            None => quote!(::core::panic!(
                "all branches are disabled and there is no else branch"
            )),
        };
        quote! {{
            #[allow(non_camel_case_types, dead_code)]
            enum __SimloopOut<#(#generics),*> { #(#variants(#generics),)* Disabled }
            // The futures live in this block only: they are dropped before a handler
            // runs, so a handler may use what they borrowed (as with tokio).
            let __simloop_out = {
            let mut __simloop_disabled: u64 = 0;
            #(#conds)*
            #(#builds)*
            ::core::future::poll_fn(|__simloop_cx| {
                if #krate::select_budget(__simloop_cx).is_pending() {
                    return ::core::task::Poll::Pending;
                }
                let __simloop_first = #krate::select_start(
                    (::core::file!(), ::core::line!(), ::core::column!()),
                    #n32,
                    __simloop_disabled,
                    #biased,
                );
                for __simloop_k in 0..#n32 {
                    #[allow(clippy::modulo_one)]
                    let __simloop_i = (__simloop_first + __simloop_k) % #n32;
                    if __simloop_disabled & (1u64 << __simloop_i) != 0 {
                        continue;
                    }
                    match __simloop_i {
                        #(#polls)*
                        _ => ::core::unreachable!(),
                    }
                }
                if __simloop_disabled == #all {
                    ::core::task::Poll::Ready(__SimloopOut::Disabled)
                } else {
                    ::core::task::Poll::Pending
                }
            })
            .await
            };
            match __simloop_out {
                #(#arms)*
                __SimloopOut::Disabled => #otherwise,
                #[allow(unreachable_patterns)]
                _ => ::core::unreachable!("select!: a ready branch's pattern no longer matches"),
            }
        }}
    }
}
