//! The one way a blocking method is written: [`mirror!`] generates it from its signature, and
//! [`Iter`] is what every async stream becomes.
//!
//! A blocking handle is a struct with two fields, `client` (the blocking [`Client`] or a
//! reference to it, whose runtime drives the calls) and `inner` (the async handle it mirrors).
//! Each method of its `mirror!` list says how it forwards (its kind) and repeats the async
//! signature, so the list reads like the API it generates. `tests/blocking_mirror.rs` compares
//! the crate's public API as rustdoc sees it, so an async method with no entry here fails
//! the tests, and an entry with no async method fails to compile.

use std::pin::Pin;

use futures::{Stream, StreamExt};

use super::Client;
use crate::Result;

/// Generates blocking methods from a list of signatures, in one style:
///
/// ```text
/// mirror! {
///     impl['c] Agents<'c> {
///         block_on: self.client,  // the client whose runtime runs the calls
///         lend: self.client;      // the client a handle made here receives
///         /// See [`api::Agents::get`].
///         block fn get(&self, agent_id: &str) -> Result<Response<AgentInfo>>;
///     }
/// }
/// ```
///
/// Kinds (`name` is the async method of the same name, `args` its arguments):
/// - `get`: returns `inner.name(args)` as is (accessors and plain functions);
/// - `block`: runs the future `inner.name(args)` to completion on the client's runtime;
/// - `block_ok`: the same for an async method that cannot fail: its output, in `Ok`;
/// - `chain`: a by-value setter: `Self` with `inner` replaced by `inner.name(args)`;
/// - `wrap`: the blocking handle `Out { client: lend, inner: inner.name(args) }` around the
///   async handle the method returns;
/// - `iter ... = source`: the stream `inner.source(args)` as a blocking [`Iter`].
///
/// The receiver (`&self` or `self`) and every argument are written out, so `self` in the
/// header and in the generated bodies is the caller's (macro hygiene), and a signature that
/// differs from the async one fails to compile.
macro_rules! mirror {
    (impl[$($g:tt)*] $ty:ty { block_on: $rt:expr, lend: $lend:expr; $($list:tt)* }) => {
        impl<$($g)*> $ty {
            mirror!(@next ($rt) ($lend) $($list)*);
        }
    };
    (@next $rt:tt $lend:tt) => {};
    // `wrap`, with the blocking handle's type by name so it can be built.
    (@next $rt:tt ($lend:expr) $(#[$m:meta])*
        wrap fn $name:ident(&$s:ident $(, $a:ident: $t:ty)* $(,)?) -> $out:ident $(<$lt:lifetime>)?;
        $($rest:tt)*) => {
        $(#[$m])*
        pub fn $name(&$s $(, $a: $t)*) -> $out $(<$lt>)? {
            $out { client: $lend, inner: $s.inner.$name($($a),*) }
        }
        mirror!(@next $rt ($lend) $($rest)*);
    };
    (@next $rt:tt ($lend:expr) $(#[$m:meta])*
        wrap fn $name:ident($s:ident $(, $a:ident: $t:ty)* $(,)?) -> $out:ident $(<$lt:lifetime>)?;
        $($rest:tt)*) => {
        $(#[$m])*
        pub fn $name($s $(, $a: $t)*) -> $out $(<$lt>)? {
            $out { client: $lend, inner: $s.inner.$name($($a),*) }
        }
        mirror!(@next $rt ($lend) $($rest)*);
    };
    // Every other kind: the receiver goes on as written, then to the kind's rule.
    (@next $rt:tt $lend:tt $(#[$m:meta])*
        $kind:ident fn $name:ident(&$s:ident $(, $a:ident: $t:ty)* $(,)?)
        $(-> $ret:ty)? $(= $src:ident)?;
        $($rest:tt)*) => {
        mirror!(@$kind $rt $lend [$(#[$m])*] [&$s] $s $name [$($a: $t),*] [$($a),*] [$($ret)?] [$($src)?]);
        mirror!(@next $rt $lend $($rest)*);
    };
    (@next $rt:tt $lend:tt $(#[$m:meta])*
        $kind:ident fn $name:ident($s:ident $(, $a:ident: $t:ty)* $(,)?)
        $(-> $ret:ty)? $(= $src:ident)?;
        $($rest:tt)*) => {
        mirror!(@$kind $rt $lend [$(#[$m])*] [$s] $s $name [$($a: $t),*] [$($a),*] [$($ret)?] [$($src)?]);
        mirror!(@next $rt $lend $($rest)*);
    };
    (@get $rt:tt $lend:tt [$($m:tt)*] [$($r:tt)*] $s:ident $name:ident [$($p:tt)*]
        [$($a:ident),*] [$($ret:ty)?] []) => {
        $($m)*
        pub fn $name($($r)*, $($p)*) $(-> $ret)? {
            $s.inner.$name($($a),*)
        }
    };
    (@block ($rt:expr) $lend:tt [$($m:tt)*] [$($r:tt)*] $s:ident $name:ident [$($p:tt)*]
        [$($a:ident),*] [$ret:ty] []) => {
        $($m)*
        pub fn $name($($r)*, $($p)*) -> $ret {
            $rt.block_on($s.inner.$name($($a),*))
        }
    };
    (@block_ok ($rt:expr) $lend:tt [$($m:tt)*] [$($r:tt)*] $s:ident $name:ident [$($p:tt)*]
        [$($a:ident),*] [$ret:ty] []) => {
        $($m)*
        pub fn $name($($r)*, $($p)*) -> $ret {
            $rt.block_on(async { Ok($s.inner.$name($($a),*).await) })
        }
    };
    (@chain $rt:tt $lend:tt [$($m:tt)*] [$($r:tt)*] $s:ident $name:ident [$($p:tt)*]
        [$($a:ident),*] [$ret:ty] []) => {
        $($m)*
        #[allow(clippy::needless_update)] // a handle whose only field is `inner`
        pub fn $name($($r)*, $($p)*) -> $ret {
            Self { inner: $s.inner.$name($($a),*), ..$s }
        }
    };
    (@iter $rt:tt ($lend:expr) [$($m:tt)*] [$($r:tt)*] $s:ident $name:ident [$($p:tt)*]
        [$($a:ident),*] [$ret:ty] [$src:ident]) => {
        $($m)*
        pub fn $name($($r)*, $($p)*) -> $ret {
            $crate::blocking::Iter::new($lend, $s.inner.$src($($a),*))
        }
    };
}
pub(super) use mirror;

/// The items of an async stream as a blocking iterator, fetched as the iteration reaches them
/// (pages of a list, turns of an agent); from `list().iter()`, `turns(id).iter()` or
/// `session.turn_iter()`. A failed fetch is one `Err` item, and the iteration ends after it.
#[must_use = "iterators do nothing unless iterated"]
pub struct Iter<'c, T> {
    client: &'c Client,
    stream: Pin<Box<dyn Stream<Item = Result<T>> + Send + 'c>>,
    done: bool,
}

impl<'c, T> Iter<'c, T> {
    pub(crate) fn new(
        client: &'c Client,
        stream: impl Stream<Item = Result<T>> + Send + 'c,
    ) -> Self {
        Iter {
            client,
            stream: Box::pin(stream),
            done: false,
        }
    }
}

impl<T> std::fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iter")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<T> Iterator for Iter<'_, T> {
    type Item = Result<T>;
    fn next(&mut self) -> Option<Result<T>> {
        if self.done {
            return None;
        }
        let stream = &mut self.stream;
        let item = match self.client.block_on(async { Ok(stream.next().await) }) {
            Ok(item) => item,
            Err(e) => Some(Err(e)),
        };
        self.done = !matches!(item, Some(Ok(_)));
        item
    }
}
