//! One handle per API resource; each method describes its call and the transport sends it.
//! Every id that goes into a path passes [`crate::validate`] first.

pub(crate) mod agents;
mod phone_numbers;
mod telephony;

pub use agents::{Agents, ListAgents, ListTurns, MAX_TURN_PAGES, MAX_TURN_PAGE_SIZE};
pub use phone_numbers::PhoneNumbers;
pub use telephony::{ListCalls, Telephony};

use std::future::Future;

use futures::Stream;

use crate::types::Page;
use crate::Result;

/// Every item of a cursor-paged list, page after page, until the cursor ends or a page is
/// empty (so a service that keeps answering the same cursor cannot loop forever on no items).
/// `fetch` reads one page of `list`; `set_cursor` moves `list` to the next one.
pub(crate) fn every_item<'c, L, T, F, Fut>(
    list: L,
    fetch: F,
    set_cursor: fn(&mut L, Option<String>),
) -> impl Stream<Item = Result<T>> + 'c
where
    L: Clone + 'c,
    T: 'c,
    F: Fn(L) -> Fut + 'c,
    Fut: Future<Output = Result<Page<T>>> + 'c,
{
    futures::stream::try_unfold(
        (list, fetch, Vec::<T>::new().into_iter(), false),
        move |(mut list, fetch, mut buffered, mut done)| async move {
            loop {
                if let Some(item) = buffered.next() {
                    return Ok(Some((item, (list, fetch, buffered, done))));
                }
                if done {
                    return Ok(None);
                }
                let page = fetch(list.clone()).await?;
                done = page.next_cursor.is_none() || page.items.is_empty();
                set_cursor(&mut list, page.next_cursor);
                buffered = page.items.into_iter();
            }
        },
    )
}
