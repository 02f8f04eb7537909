//! `convoai numbers …`: the account's phone numbers.

use std::io::Write;

use serde_json::{json, Map, Value};
use shengwang_agent::types::phone_numbers::{
    AddPhoneNumber, Patch, PhoneNumber, Provider, UpdatePhoneNumber,
};

use super::Ctx;
use crate::cli::{NumbersCommand, ProviderArg};
use crate::error::CliError;

pub async fn run(ctx: &Ctx, cmd: NumbersCommand, out: &mut dyn Write) -> Result<(), CliError> {
    let client = ctx.client()?;
    let numbers = client.phone_numbers();
    match cmd {
        NumbersCommand::List => {
            let list = numbers.list().await?.into_inner();
            print_list(ctx, &list, out)
        }
        NumbersCommand::Get { number } => {
            let n = numbers.get(&number).await?.into_inner();
            print_one(ctx, &n, out)
        }
        NumbersCommand::Add {
            number,
            provider,
            label,
            inbound,
            outbound,
            allowed_addresses,
            sip_address,
            sip_transport,
            sip_prefix,
        } => {
            let request = AddPhoneNumber {
                provider: match provider {
                    ProviderArg::Byo => Provider::Byo,
                    ProviderArg::Twilio => Provider::Twilio,
                },
                phone_number: number,
                label,
                inbound: Some(inbound),
                outbound: Some(outbound),
                inbound_config: inbound_config(allowed_addresses),
                outbound_config: outbound_config(sip_address, sip_transport, sip_prefix),
            };
            let created = numbers.add(&request).await?.into_inner();
            if ctx.out.json {
                ctx.out.json_line(out, &created)
            } else {
                ctx.out.line(out, &created.phone_number)
            }
        }
        NumbersCommand::Update {
            number,
            inbound_pipeline,
            clear_inbound,
            outbound_pipeline,
            clear_outbound,
        } => {
            let request = update_request(
                inbound_pipeline,
                clear_inbound,
                outbound_pipeline,
                clear_outbound,
            )?;
            let updated = numbers.update(&number, &request).await?.into_inner();
            if ctx.out.json {
                ctx.out.json_line(out, &updated)
            } else {
                ctx.out.note(&format!("{number} updated"));
                Ok(())
            }
        }
        NumbersCommand::Delete { number } => {
            numbers.delete(&number).await?;
            if ctx.out.json {
                ctx.out
                    .json_line(out, &json!({"phone_number": number, "deleted": true}))
            } else {
                ctx.out.note(&format!("{number} deleted"));
                Ok(())
            }
        }
    }
}

/// `numbers list` output: JSON lines or a table.
fn print_list(ctx: &Ctx, list: &[PhoneNumber], out: &mut dyn Write) -> Result<(), CliError> {
    if ctx.out.json {
        for n in list {
            ctx.out.json_line(out, n)?;
        }
        return Ok(());
    }
    let rows: Vec<Vec<String>> = list.iter().map(row).collect();
    ctx.out.table(
        out,
        &["NUMBER", "PROVIDER", "LABEL", "IN", "OUT", "PIPELINE"],
        &rows,
    )
}

/// `numbers get` output: JSON, or one `label: value` line per column of the list.
fn print_one(ctx: &Ctx, n: &PhoneNumber, out: &mut dyn Write) -> Result<(), CliError> {
    if ctx.out.json {
        return ctx.out.json_line(out, n);
    }
    let fields: Vec<(&str, String)> = [
        "number", "provider", "label", "inbound", "outbound", "pipeline",
    ]
    .into_iter()
    .zip(row(n))
    .collect();
    ctx.out.fields(out, &fields)
}

/// The `inbound_config` of `numbers add`: the allowed addresses, when given.
fn inbound_config(allowed_addresses: Vec<String>) -> Value {
    let mut inbound_config = Map::new();
    if !allowed_addresses.is_empty() {
        inbound_config.insert("allowed_addresses".into(), json!(allowed_addresses));
    }
    Value::Object(inbound_config)
}

/// The `outbound_config` of `numbers add`: the SIP trunk's address, transport and prefix,
/// those given.
fn outbound_config(
    sip_address: Option<String>,
    sip_transport: Option<String>,
    sip_prefix: Option<String>,
) -> Value {
    let mut outbound_config = Map::new();
    for (key, value) in [
        ("address", sip_address),
        ("transport", sip_transport),
        ("prefix", sip_prefix),
    ] {
        if let Some(v) = value {
            outbound_config.insert(key.into(), Value::String(v));
        }
    }
    Value::Object(outbound_config)
}

/// The `numbers update` request; refused when it would change nothing.
fn update_request(
    inbound_pipeline: Option<String>,
    clear_inbound: bool,
    outbound_pipeline: Option<String>,
    clear_outbound: bool,
) -> Result<UpdatePhoneNumber, CliError> {
    let patch = |pipeline: Option<String>, clear: bool| match (pipeline, clear) {
        (Some(p), _) => Patch::Set(json!({ "pipeline_id": p })),
        (None, true) => Patch::Clear,
        (None, false) => Patch::Keep,
    };
    let request = UpdatePhoneNumber {
        inbound_config: patch(inbound_pipeline, clear_inbound),
        outbound_config: patch(outbound_pipeline, clear_outbound),
    };
    if request == UpdatePhoneNumber::default() {
        return Err(CliError::Invalid(
            "nothing to change: give --inbound-pipeline, --outbound-pipeline, --clear-inbound or --clear-outbound".into(),
        ));
    }
    Ok(request)
}

fn row(n: &PhoneNumber) -> Vec<String> {
    let yes_no = |b: Option<bool>| if b == Some(true) { "yes" } else { "no" }.to_owned();
    let pipeline = n
        .associated_pipeline
        .as_ref()
        .and_then(|p| p.get("pipeline_id"))
        .and_then(Value::as_str)
        .unwrap_or("-")
        .to_owned();
    vec![
        n.phone_number.clone(),
        n.provider.as_ref().map_or("-", |p| p.as_str()).to_owned(),
        n.label.clone().unwrap_or_else(|| "-".into()),
        yes_no(n.inbound),
        yes_no(n.outbound),
        pipeline,
    ]
}
