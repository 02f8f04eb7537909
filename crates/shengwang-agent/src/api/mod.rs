//! One handle per API resource; each method describes its call and the transport sends it.

pub(crate) mod agents;
mod phone_numbers;
mod telephony;

pub use agents::{Agents, ListAgents};
pub use phone_numbers::PhoneNumbers;
pub use telephony::{ListCalls, Telephony};

use std::future::Future;

use futures::Stream;

use crate::types::Page;
use crate::{Error, Result};

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

/// Path parameters go into URLs verbatim (as the service expects, e.g. `+861…`), so they
/// must not be able to change the path.
pub(crate) fn path_param(field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if value
        .chars()
        .any(|c| matches!(c, '/' | '?' | '#' | '%') || c.is_whitespace() || c.is_control())
    {
        return Err(Error::invalid(
            field,
            "must not contain '/', '?', '#', '%' or whitespace",
        ));
    }
    Ok(())
}

/// E.164: `+`, then 2 to 15 digits not starting with 0.
pub(crate) fn e164(field: &str, number: &str) -> Result<()> {
    let digits = number.strip_prefix('+').unwrap_or("");
    if (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
    {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            "must be an E.164 number such as +8613800000000",
        ))
    }
}
