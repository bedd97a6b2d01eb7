//! Fault injection: [`buggify`], after FoundationDB's `BUGGIFY`. The call site names the
//! fault; the run's policy decides the value (see [`Policy::buggify`](crate::Policy::buggify)).

use std::borrow::Cow;

use crate::event_loop::registry;
use crate::trace::digest::fnv1a;

/// `true` now and then inside a seeded simulation, to push the code around it down its
/// rare paths (a timeout, a retry, a short read); always `false` outside a running loop,
/// under [`Fifo`](crate::Fifo) and under any policy without a seed.
///
/// - **Per site**: a call site is identified by its source location (file, line, column,
///   via `#[track_caller]`), hashed with FNV-1a to 32 bits — the same on every machine.
///   A relative file path (the workspace's own files) is hashed as it is; an absolute one
///   (a dependency outside the workspace: crates.io, git, a path elsewhere) is first cut
///   down to its part inside the package (see `site_path`), so the site, and therefore
///   what a seed fires, does not depend on where the checkout or cargo's registry lives.
/// - **Swarm testing**: each site is enabled in half of the runs and disabled in the
///   others, decided from the seed, so a run explores some faults in depth rather than all
///   of them a little. An enabled site returns `true` on a quarter of its calls.
/// - **Its own stream**: the values are a hash of the loop's seed, the site and how many
///   times the site was called in this run — not drawn from the scheduler's random
///   stream, so adding a `buggify()` call never changes the scheduling decisions of a seed
///   whose runs do not reach it.
/// - **Recorded and replayed**: each call in a seeded run adds a `buggify <site> <0|1>`
///   line to the trace, and a [`Replay`](crate::Replay) of that trace returns the recorded
///   values.
///
/// ```
/// use simloop::{Builder, Env};
/// // A flaky send that a retry loop must survive: the retry path only runs under buggify.
/// let summary = Builder::new().env(Env::default()).seeds(0..50).try_check(|| async {
///     let mut attempts = 0;
///     loop {
///         attempts += 1;
///         if !simloop::buggify() { break; }   // "the send failed"
///         simloop::sleep(std::time::Duration::from_millis(10)).await;
///     }
///     assert!(attempts >= 1);
/// }).unwrap();
/// assert_eq!(summary.runs, 50);
/// assert!(!simloop::buggify()); // outside a simulation: never
/// ```
#[track_caller]
pub fn buggify() -> bool {
    let loc = std::panic::Location::caller();
    let site = site_hash(&site_path(loc.file()), loc.line(), loc.column());
    match registry::running() {
        Some(inner) => inner.buggify(site),
        None => false,
    }
}

/// The machine-independent part of a source path, for a site id.
///
/// - A relative path (how cargo names the workspace's own files) is returned unchanged,
///   so existing sites keep their ids.
/// - An absolute path under a cargo registry (`…/registry/src/<index>/<pkg>-<version>/…`)
///   keeps `<pkg>-<version>/…`.
/// - Any other absolute path keeps everything from the directory that precedes the last
///   `src`, `tests`, `examples` or `benches` directory (usually the package's own
///   directory); without one, only the file name.
///
/// The result always uses `/`. Both `/` and `\` separate components, so a Windows path
/// gives the same result as the Unix one. Nothing here looks at the file system.
pub(crate) fn site_path(file: &str) -> Cow<'_, str> {
    let b = file.as_bytes();
    let absolute = matches!(b.first(), Some(b'/' | b'\\'))
        || (b.len() >= 3
            && b[0].is_ascii_alphabetic()
            && b[1] == b':'
            && matches!(b[2], b'/' | b'\\'));
    if !absolute {
        return Cow::Borrowed(file);
    }
    let parts: Vec<&str> = file.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
    let dirs = parts.len().saturating_sub(1);
    let registry = (0..dirs.saturating_sub(3))
        .rev()
        .find(|&i| parts[i] == "registry" && parts[i + 1] == "src")
        .map(|i| i + 3);
    let from = registry.or_else(|| {
        (1..dirs)
            .rev()
            .find(|&i| matches!(parts[i], "src" | "tests" | "examples" | "benches"))
            .map(|i| i - 1)
    });
    Cow::Owned(parts[from.unwrap_or(dirs)..].join("/"))
}

/// FNV-1a over `file:line:column`, folded to 32 bits.
pub(crate) fn site_hash(file: &str, line: u32, column: u32) -> u32 {
    let h = fnv1a(format!("{file}:{line}:{column}").as_bytes());
    (h ^ (h >> 32)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_hash_is_stable() {
        assert_eq!(site_hash("src/a.rs", 1, 1), site_hash("src/a.rs", 1, 1));
        assert_ne!(site_hash("src/a.rs", 1, 1), site_hash("src/a.rs", 1, 2));
        // Pinned: recorded traces name sites by this hash.
        assert_eq!(site_hash("src/a.rs", 1, 1), 0xcab0_cc57);
    }

    /// Site ids of the workspace's own (relative) paths, pinned: existing traces and seeds
    /// depend on them, so they must never change.
    #[test]
    fn relative_site_hashes_are_pinned() {
        assert_eq!(site_hash("src/a.rs", 1, 1), 0xcab0_cc57);
        assert_eq!(site_hash("sim-tests/buggify.rs", 10, 5), 0xa2ce_d6ef);
        assert_eq!(site_hash("examples/buggify_retry.rs", 42, 13), 0xa253_17e9);
        assert_eq!(site_hash("src/lib.rs", 100, 20), 0xf915_3275);
        for file in [
            "src/lib.rs",
            "sim-tests/buggify.rs",
            "examples/buggify_retry.rs",
        ] {
            assert_eq!(site_path(file), file);
        }
    }

    #[test]
    fn site_paths_keep_the_part_inside_the_package() {
        for (file, want) in [
            // The workspace's own files: unchanged.
            ("src/lib.rs", "src/lib.rs"),
            ("sim-tests/buggify.rs", "sim-tests/buggify.rs"),
            ("crates/x/src/a.rs", "crates/x/src/a.rs"),
            ("src\\lib.rs", "src\\lib.rs"),
            // crates.io, wherever CARGO_HOME is and whatever the index directory's hash.
            (
                "/home/a/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/foo-1.2.3/src/lib.rs",
                "foo-1.2.3/src/lib.rs",
            ),
            (
                "/usr/local/cargo/registry/src/index.crates.io-6f17d22bba15001f/foo-1.2.3/src/lib.rs",
                "foo-1.2.3/src/lib.rs",
            ),
            (
                "/x/.cargo/registry/src/idx/foo-1.2.3/src/tests/mod.rs",
                "foo-1.2.3/src/tests/mod.rs",
            ),
            // Path and git dependencies: from the package directory.
            ("/home/a/work/dep/src/lib.rs", "dep/src/lib.rs"),
            ("/tmp/b/x/y/dep/src/net/mod.rs", "dep/src/net/mod.rs"),
            ("/home/a/src/proj/dep/src/lib.rs", "dep/src/lib.rs"),
            ("/srv/ci/dep/tests/it.rs", "dep/tests/it.rs"),
            ("/srv/ci/dep/examples/e.rs", "dep/examples/e.rs"),
            ("/srv/ci/dep/benches/b.rs", "dep/benches/b.rs"),
            (
                "/h/.cargo/git/checkouts/repo-0123456789abcdef/1a2b3c4/crates/dep/src/lib.rs",
                "dep/src/lib.rs",
            ),
            // Windows paths give the same as Unix ones.
            ("C:\\Users\\a\\dep\\src\\lib.rs", "dep/src/lib.rs"),
            ("\\\\server\\share\\dep\\src\\lib.rs", "dep/src/lib.rs"),
            // No marker directory: the file name alone.
            ("/tmp/target/debug/build/foo-0123/out/gen.rs", "gen.rs"),
            ("/lib.rs", "lib.rs"),
            ("/", ""),
        ] {
            assert_eq!(site_path(file), want, "{file}");
        }
        assert!(matches!(site_path("src/lib.rs"), Cow::Borrowed(_)));
    }
}
