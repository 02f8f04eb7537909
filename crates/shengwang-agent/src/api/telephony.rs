//! `client.telephony()`.

use futures::Stream;
use reqwest::Method;

use crate::client::Client;
use crate::transport::{Call, Response};
use crate::types::telephony::*;
use crate::types::Page;
use crate::Result;

use crate::validate::{id_segment, validate_e164};

/// Telephony calls of the project: `client.telephony()`.
#[derive(Debug, Clone, Copy)]
pub struct Telephony<'c> {
    client: &'c Client,
}

impl<'c> Telephony<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Telephony { client }
    }

    fn path(&self, rest: &str) -> String {
        format!("v2/projects/{}/{rest}", self.client.app_id())
    }

    /// Places an outbound call. Never sent twice: if the outcome is unclear (a timeout or a
    /// dropped connection after sending, a 5xx), the error is [`Error::OutcomeUnknown`]
    /// (`is_ambiguous()`) and a call may be ringing; look it up with [`list`](Self::list)
    /// before placing another.
    ///
    /// [`Error::OutcomeUnknown`]: crate::Error::OutcomeUnknown
    pub async fn call_out(&self, request: &CallRequest) -> Result<Response<CallCreated>> {
        validate_e164("sip.to_number", &request.sip.to_number)?;
        validate_e164("sip.from_number", &request.sip.from_number)?;
        self.client
            .transport()
            .json(&Call::create(self.path("call")).json(request)?)
            .await
    }

    /// Lists calls; filter, then take a [`page`](ListCalls::page).
    pub fn list(&self) -> ListCalls<'c> {
        ListCalls {
            telephony: *self,
            number: None,
            kind: None,
            from_time: None,
            to_time: None,
            limit: None,
            cursor: None,
        }
    }

    /// Status of one call.
    pub async fn get(&self, call_id: &str) -> Result<Response<CallInfo>> {
        let id = id_segment("call_id", call_id)?;
        self.client
            .transport()
            .json(&Call::get(self.path(&format!("calls/{id}"))))
            .await
    }

    /// Hangs up a call. Sent without a body.
    pub async fn hangup(&self, call_id: &str) -> Result<()> {
        let id = id_segment("call_id", call_id)?;
        let _: Response<serde_json::Value> = self
            .client
            .transport()
            .json(&Call::idempotent(
                Method::POST,
                self.path(&format!("calls/{id}/hangup")),
            ))
            .await?;
        Ok(())
    }
}

/// Filters of a call list.
#[derive(Debug, Clone)]
#[must_use]
pub struct ListCalls<'c> {
    telephony: Telephony<'c>,
    number: Option<String>,
    kind: Option<CallType>,
    from_time: Option<u64>,
    to_time: Option<u64>,
    limit: Option<u32>,
    cursor: Option<String>,
}

impl<'c> ListCalls<'c> {
    /// Calls from or to this number.
    pub fn number(mut self, number: impl Into<String>) -> Self {
        self.number = Some(number.into());
        self
    }
    /// Only this direction.
    pub fn kind(mut self, kind: CallType) -> Self {
        self.kind = Some(kind);
        self
    }
    /// Started at or after (Unix seconds).
    pub fn from_time(mut self, secs: u64) -> Self {
        self.from_time = Some(secs);
        self
    }
    /// Started at or before.
    pub fn to_time(mut self, secs: u64) -> Self {
        self.to_time = Some(secs);
        self
    }
    /// Page size.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }
    /// Start after this cursor.
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    /// One page.
    pub async fn page(&self) -> Result<Page<CallInfo>> {
        let call = Call::get(self.telephony.path("call"))
            .query("number", self.number.as_deref())
            .query("from_time", self.from_time)
            .query("to_time", self.to_time)
            .query("type", self.kind.as_ref().map(|k| k.as_str().to_owned()))
            .query("limit", self.limit)
            .query("cursor", self.cursor.as_deref().filter(|c| !c.is_empty()));
        let res: Response<CallList> = self.telephony.client.transport().json(&call).await?;
        let meta = res.body.meta.unwrap_or_default();
        Ok(Page {
            items: res.body.data.list,
            next_cursor: meta.cursor.filter(|c| !c.is_empty()),
            total: meta.total,
        })
    }

    /// Every matching call, page after page, until the cursor ends or a page is empty.
    pub fn stream(self) -> impl Stream<Item = Result<CallInfo>> + 'c {
        super::every_item(
            self,
            |list: ListCalls<'c>| async move { list.page().await },
            |list, cursor| list.cursor = cursor,
        )
    }
}
