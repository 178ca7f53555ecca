//! `idea sep2 get`: one resource of an IEEE 2030.5 server by hand, over mutual TLS (or plain HTTP for testing).

use crate::failure::Failure;
use crate::output::pretty;
use clap::Subcommand;
use idea_cli::sep2_client::{self, Server};

#[derive(Debug, Subcommand)]
pub(crate) enum Sep2Command {
    /// GET one resource and show it as `idea decode sep2` does. Exits 1 when the server answers with a
    /// status other than 200.
    Get {
        /// The server, HOST:PORT.
        address: String,
        /// The resource's path, e.g. /dcap.
        #[arg(default_value = "/dcap")]
        path: String,
        #[command(flatten)]
        tls: crate::tls_args::ClientTlsArgs,
        /// Print the resource as JSON (schema field names and order).
        #[arg(long, conflicts_with = "xml")]
        json: bool,
        /// Print the resource as canonical XML.
        #[arg(long)]
        xml: bool,
    },
}

/// Runs one `idea sep2` subcommand.
pub(crate) fn run(command: Sep2Command) -> Result<String, Failure> {
    let Sep2Command::Get {
        address,
        path,
        tls,
        json,
        xml,
    } = command;
    let server = Server {
        address: address.clone(),
        tls: tls.files(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut connection = server
        .connection()
        .map_err(|e| Failure::Usage(format!("{address}: {e}")))?;
    let answer = runtime
        .block_on(sep2_client::get(&mut connection, &path))
        .map_err(|e| Failure::NoAnswer(format!("{address}: {e}")))?;
    if answer.status != 200 {
        return Err(Failure::Check(format!(
            "{address}{path}: the server answered HTTP {}",
            answer.status
        )));
    }
    let (resource, _) = ieee2030_5::resources::decode(&answer.body)
        .map_err(|e| Failure::Check(format!("{address}{path}: the server sent {e}")))?;
    if xml {
        let mut out = Vec::new();
        ieee2030_5::resources::encode(&resource, &mut out);
        Ok(String::from_utf8_lossy(&out).into_owned() + "\n")
    } else if json {
        Ok(pretty(&resource)?)
    } else {
        Ok(ieee2030_5::view::to_text(&resource))
    }
}
