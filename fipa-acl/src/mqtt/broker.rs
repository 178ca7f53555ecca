//! rumqttd embedded in the process.

use crate::error::Error;
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// An MQTT 3.1.1 broker (rumqttd) running on threads of this process, listening on 127.0.0.1. It runs until
/// the process ends (rumqttd has no shutdown). The workspace builds rumqttd patched to set `TCP_NODELAY` on
/// every connection it accepts (`vendor/rumqttd/PATCHED.md`): without it a client that publishes and
/// subscribes on one connection waits up to 40 ms for a message forwarded to it behind an unanswered `PUBACK`.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedBroker {
    addr: SocketAddr,
}

fn transport(reason: impl Into<String>) -> Error {
    Error::Transport {
        reason: reason.into(),
    }
}

/// The most connections a broker takes unless told otherwise.
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 1_000;

impl EmbeddedBroker {
    /// Starts a broker on a free port of 127.0.0.1 and waits until it accepts connections.
    pub fn start() -> Result<EmbeddedBroker, Error> {
        EmbeddedBroker::start_for(DEFAULT_MAX_CONNECTIONS)
    }

    /// As [`EmbeddedBroker::start`], taking up to `max_connections` connections at a time (at least 1).
    pub fn start_for(max_connections: usize) -> Result<EmbeddedBroker, Error> {
        // rumqttd binds the address it is given and does not report the port it got, so find a free one
        // first (another process could take it in between; then startup fails with a clear error).
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| transport(format!("no free port: {e}")))?
            .port();
        EmbeddedBroker::listen(SocketAddr::from(([127, 0, 0, 1], port)), max_connections)
    }

    /// Starts a broker listening on `addr` and waits until it accepts connections.
    pub fn start_on(addr: SocketAddr) -> Result<EmbeddedBroker, Error> {
        EmbeddedBroker::listen(addr, DEFAULT_MAX_CONNECTIONS)
    }

    fn listen(addr: SocketAddr, max_connections: usize) -> Result<EmbeddedBroker, Error> {
        let connections = rumqttd::ConnectionSettings {
            connection_timeout_ms: 5_000,
            max_payload_size: 4 << 20,
            max_inflight_count: 256,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        };
        let server = rumqttd::ServerSettings {
            name: "idea-v4".into(),
            listen: addr,
            tls: None,
            next_connection_delay_ms: 0,
            connections,
        };
        let router = rumqttd::RouterConfig {
            max_connections: max_connections.max(1),
            max_outgoing_packet_count: 1_000,
            max_segment_size: 16 << 20,
            max_segment_count: 10,
            custom_segment: None,
            initialized_filters: None,
            shared_subscriptions_strategy: rumqttd::Strategy::default(),
        };
        let config = rumqttd::Config {
            id: 0,
            router,
            v4: Some(HashMap::from([("v4".to_owned(), server)])),
            v5: None,
            ws: None,
            cluster: None,
            console: None,
            bridge: None,
            prometheus: None,
            metrics: None,
        };
        std::thread::Builder::new()
            .name("idea-mqtt-broker".into())
            .spawn(move || {
                let mut broker = rumqttd::Broker::new(config);
                // `start` blocks while the servers run; an error (the port taken) ends the thread, and
                // the readiness check below reports it.
                let _ = broker.start();
            })
            .map_err(|e| transport(format!("broker thread: {e}")))?;
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(EmbeddedBroker { addr });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(transport(format!(
            "the embedded broker did not start on {addr}"
        )))
    }

    /// Where the broker listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}
