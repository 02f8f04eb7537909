//! `client.phone_numbers()`.

use reqwest::Method;

use crate::client::Client;
use crate::transport::{Call, Response};
use crate::types::phone_numbers::*;
use crate::Result;

use super::e164;

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
        &self.client.inner.transport
    }

    /// Every configured number.
    pub async fn list(&self) -> Result<Response<Vec<PhoneNumber>>> {
        self.transport()
            .json(&Call::new(Method::GET, "v2/phone-numbers".into()))
            .await
    }

    /// Configures a number.
    pub async fn add(&self, request: &AddPhoneNumber) -> Result<Response<PhoneNumberCreated>> {
        e164("phone_number", &request.phone_number)?;
        self.transport()
            .json(&Call::new(Method::POST, "v2/phone-numbers".into()).json(request)?)
            .await
    }

    /// One number.
    pub async fn get(&self, number: &str) -> Result<Response<PhoneNumber>> {
        e164("phone_number", number)?;
        self.transport()
            .json(&Call::new(
                Method::GET,
                format!("v2/phone-numbers/{number}"),
            ))
            .await
    }

    /// Changes or clears a number's pipeline configuration.
    pub async fn update(
        &self,
        number: &str,
        request: &UpdatePhoneNumber,
    ) -> Result<Response<PhoneNumber>> {
        e164("phone_number", number)?;
        let mut call = Call::new(Method::PATCH, format!("v2/phone-numbers/{number}"));
        if request != &UpdatePhoneNumber::default() {
            call = call.json(request)?;
        }
        self.transport().json(&call).await
    }

    /// Removes the number's configuration (not the number at the carrier).
    pub async fn delete(&self, number: &str) -> Result<()> {
        e164("phone_number", number)?;
        self.transport()
            .send(&Call::new(
                Method::DELETE,
                format!("v2/phone-numbers/{number}"),
            ))
            .await
            .map(|_| ())
    }
}
