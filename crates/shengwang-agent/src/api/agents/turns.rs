//! `client.agents().turns(id)`: pages of a session's turns, and every turn across pages.

use futures::Stream;

use super::Agents;
use crate::transport::{Call, Response};
use crate::types::turns::{AgentTurns, Turn, TurnsPagination};
use crate::{Error, Result};

/// Pages fetched at most by [`ListTurns::all`] and [`ListTurns::stream`]: a service that keeps
/// saying "not the last page" cannot keep the caller looping forever.
pub const MAX_TURN_PAGES: u64 = 10_000;

/// Largest page size the SDK sends.
pub const MAX_TURN_PAGE_SIZE: u32 = 1_000;

impl<'c> Agents<'c> {
    /// The turns of an agent's session (kept by the service for 7 days): take one
    /// [`page`](ListTurns::page), [`all`](ListTurns::all) of them, or a
    /// [`stream`](ListTurns::stream).
    pub fn turns(&self, agent_id: impl Into<String>) -> ListTurns<'c> {
        ListTurns {
            agents: self.clone(),
            agent_id: agent_id.into(),
            page_size: None,
        }
    }
}

/// The turns of one agent; ends in [`page`](Self::page), [`all`](Self::all) or
/// [`stream`](Self::stream).
#[derive(Debug, Clone)]
#[must_use]
pub struct ListTurns<'c> {
    agents: Agents<'c>,
    agent_id: String,
    page_size: Option<u32>,
}

impl<'c> ListTurns<'c> {
    /// Turns per page (1 to [`MAX_TURN_PAGE_SIZE`]); the service's default when unset.
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// One page (`page_index` starts at 1), with status and headers.
    pub async fn page_with_response(&self, page_index: u64) -> Result<Response<AgentTurns>> {
        let path = self.agents.agent_path(&self.agent_id, "/turns")?;
        if page_index == 0 {
            return Err(Error::invalid("page_index", "starts at 1"));
        }
        if let Some(size) = self.page_size {
            if !(1..=MAX_TURN_PAGE_SIZE).contains(&size) {
                return Err(Error::invalid(
                    "page_size",
                    format!("must be 1 to {MAX_TURN_PAGE_SIZE}"),
                ));
            }
        }
        let call = self
            .agents
            .with(Call::get(path))
            .query("page_index", Some(page_index))
            .query("page_size", self.page_size);
        self.agents.transport().json(&call).await
    }

    /// One page (`page_index` starts at 1).
    pub async fn page(&self, page_index: u64) -> Result<AgentTurns> {
        Ok(self.page_with_response(page_index).await?.into_inner())
    }

    /// Every turn: the first page's answer with `turns` replaced by the turns of all pages,
    /// oldest first. Pages are fetched while the service says the last one is still ahead;
    /// an answer whose page position is missing or does not advance is an error rather than
    /// a loop.
    pub async fn all(&self) -> Result<AgentTurns> {
        let mut pager = Pager::default();
        let mut first = self.page(1).await?;
        let mut next = pager.after(1, first.pagination.as_ref())?;
        while let Some(index) = next {
            let page = self.page(index).await?;
            next = pager.after(index, page.pagination.as_ref())?;
            first.turns.extend(page.turns);
        }
        Ok(first)
    }

    /// Every turn, page after page, fetched as the stream is read (same rules as
    /// [`all`](Self::all)).
    pub fn stream(self) -> impl Stream<Item = Result<Turn>> + 'c {
        let start = (self, Pager::default(), Some(1), Vec::new().into_iter());
        futures::stream::try_unfold(
            start,
            |(list, mut pager, mut next, mut buffered)| async move {
                loop {
                    if let Some(turn) = buffered.next() {
                        return Ok(Some((turn, (list, pager, next, buffered))));
                    }
                    let Some(index) = next else {
                        return Ok(None);
                    };
                    let page = list.page(index).await?;
                    next = pager.after(index, page.pagination.as_ref())?;
                    buffered = page.turns.into_iter();
                }
            },
        )
    }
}

/// The paging rule of `all` and `stream`, in one place.
#[derive(Debug, Default)]
struct Pager {
    /// Pages received so far.
    pages: u64,
    /// The page index the service last reported (or that was asked for).
    current: u64,
}

impl Pager {
    /// Takes the pagination of the page fetched for `requested`; returns the page to fetch
    /// next, if any.
    fn after(&mut self, requested: u64, p: Option<&TurnsPagination>) -> Result<Option<u64>> {
        self.pages += 1;
        let first = self.pages == 1;
        let Some(p) = p else {
            // A single answer without pagination is complete; a later one cannot be placed.
            return if first {
                Ok(None)
            } else {
                Err(stalled(format!(
                    "page {requested} of the turns has no pagination"
                )))
            };
        };
        let last = p.is_last_page == Some(true);
        match p.page_index {
            Some(index) if !first && index <= self.current && !last => {
                return Err(stalled(format!(
                    "asked for page {requested} of the turns, got page {index} again"
                )));
            }
            Some(index) => self.current = index,
            None => self.current = requested,
        }
        if p.is_last_page != Some(false) {
            return Ok(None);
        }
        if p.page_index.is_none() && p.total_pages.is_none() {
            return Err(stalled(
                "the turns' pagination says more pages follow but gives neither page_index nor total_pages".into(),
            ));
        }
        if p.total_pages.is_some_and(|total| self.current >= total) {
            return Ok(None);
        }
        if self.pages >= MAX_TURN_PAGES {
            return Err(stalled(format!(
                "the turns span more than {MAX_TURN_PAGES} pages"
            )));
        }
        Ok(Some(self.current + 1))
    }
}

fn stalled(message: String) -> Error {
    Error::Decode {
        status: 200,
        message,
        body: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(index: Option<u64>, total: Option<u64>, last: Option<bool>) -> TurnsPagination {
        TurnsPagination {
            page_index: index,
            total_pages: total,
            is_last_page: last,
            extra: Default::default(),
        }
    }

    #[test]
    fn follows_pages_until_the_last() {
        let mut p = Pager::default();
        assert_eq!(
            p.after(1, Some(&pg(Some(1), Some(3), Some(false))))
                .unwrap(),
            Some(2)
        );
        assert_eq!(
            p.after(2, Some(&pg(Some(2), Some(3), Some(false))))
                .unwrap(),
            Some(3)
        );
        assert_eq!(
            p.after(3, Some(&pg(Some(3), Some(3), Some(true)))).unwrap(),
            None
        );
    }

    #[test]
    fn total_pages_stops_a_service_that_never_says_last() {
        let mut p = Pager::default();
        assert_eq!(
            p.after(1, Some(&pg(Some(1), Some(2), Some(false))))
                .unwrap(),
            Some(2)
        );
        assert_eq!(
            p.after(2, Some(&pg(Some(2), Some(2), Some(false))))
                .unwrap(),
            None
        );
    }

    #[test]
    fn no_pagination_on_the_first_page_means_one_page() {
        assert_eq!(Pager::default().after(1, None).unwrap(), None);
        let mut p = Pager::default();
        p.after(1, Some(&pg(Some(1), Some(2), Some(false))))
            .unwrap();
        assert!(p.after(2, None).is_err());
    }

    #[test]
    fn a_page_index_that_does_not_advance_is_an_error() {
        let mut p = Pager::default();
        p.after(1, Some(&pg(Some(1), None, Some(false)))).unwrap();
        let e = p
            .after(2, Some(&pg(Some(1), None, Some(false))))
            .unwrap_err();
        assert!(e.to_string().contains("got page 1 again"), "{e}");
    }

    #[test]
    fn more_pages_without_a_position_is_an_error() {
        let e = Pager::default()
            .after(1, Some(&pg(None, None, Some(false))))
            .unwrap_err();
        assert!(
            e.to_string().contains("neither page_index nor total_pages"),
            "{e}"
        );
        // Later pages without an index advance by the requested index when a total is known.
        let mut p = Pager::default();
        p.after(1, Some(&pg(Some(1), Some(3), Some(false))))
            .unwrap();
        assert_eq!(
            p.after(2, Some(&pg(None, Some(3), Some(false)))).unwrap(),
            Some(3)
        );
    }

    #[test]
    fn an_endless_service_is_cut_off() {
        let mut p = Pager::default();
        let mut next = Some(1);
        let mut fetched = 0;
        let err = loop {
            let i = next.unwrap();
            fetched += 1;
            match p.after(i, Some(&pg(Some(i), None, Some(false)))) {
                Ok(n) => next = n,
                Err(e) => break e,
            }
        };
        assert_eq!(fetched, MAX_TURN_PAGES);
        assert!(err.to_string().contains("more than"), "{err}");
    }
}
