//! `client.phone_numbers()`.

use reqwest::Method;

use crate::client::Client;
use crate::transport::{Call, Response};
use crate::types::phone_numbers::*;
use crate::Result;

use crate::validate::{phone_segment, validate_e164};

/// Phone numbers of the account: `client.phone_numbers()`.
#[derive(Debug, Clone, Copy)]
pub struct PhoneNumbers<'c> {
    client: &'c Client,
}

impl<'c> PhoneNumbers<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        PhoneNumbers { client }
    }

    fn transport(&self) -> &crate::transport::Transport {
        self.client.transport()
    }

    /// Every configured number.
    pub async fn list(&self) -> Result<Response<Vec<PhoneNumber>>> {
        self.transport()
            .json(&Call::get("v2/phone-numbers".into()))
            .await
    }

    /// Configures a number. Never sent twice; an unclear outcome is
    /// [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown): check with
    /// [`get`](Self::get) before adding again.
    pub async fn add(&self, request: &AddPhoneNumber) -> Result<Response<PhoneNumberCreated>> {
        validate_e164("phone_number", &request.phone_number)?;
        self.transport()
            .json(&Call::create("v2/phone-numbers".into()).json(request)?)
            .await
    }

    /// One number.
    pub async fn get(&self, number: &str) -> Result<Response<PhoneNumber>> {
        let number = phone_segment("phone_number", number)?;
        self.transport()
            .json(&Call::get(format!("v2/phone-numbers/{number}")))
            .await
    }

    /// Changes or clears a number's pipeline configuration.
    pub async fn update(
        &self,
        number: &str,
        request: &UpdatePhoneNumber,
    ) -> Result<Response<PhoneNumber>> {
        let number = phone_segment("phone_number", number)?;
        let mut call = Call::idempotent(Method::PATCH, format!("v2/phone-numbers/{number}"));
        if request != &UpdatePhoneNumber::default() {
            call = call.json(request)?;
        }
        self.transport().json(&call).await
    }

    /// Removes the number's configuration (not the number at the carrier).
    pub async fn delete(&self, number: &str) -> Result<()> {
        let number = phone_segment("phone_number", number)?;
        self.transport()
            .send(&Call::idempotent(
                Method::DELETE,
                format!("v2/phone-numbers/{number}"),
            ))
            .await
            .map(|_| ())
    }
}
