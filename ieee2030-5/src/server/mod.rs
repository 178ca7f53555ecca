//! The IEEE 2030.5 server core for DER: an in-memory store of the resources a utility or aggregator serves
//! to DER clients, answering requests (clause 5: resources over HTTP; clause 10.10: DER), sans-IO.
//!
//! What it does: `/dcap`, `/tm`, the EndDevice list (each client sees its own EndDevice, identified by the
//! LFDI of its TLS certificate), Registration, FunctionSetAssignments, DER programs with their event lists
//! (ordered as clause 10.10 requires, event status kept by the server clock: scheduled, active, cancelled,
//! superseded), `DefaultDERControl`, the active control list, the response set that collects the clients'
//! `Response`s, mirror usage points with their readings, subscriptions with notifications queued for
//! delivery, and list paging with `s`, `a` and `l`. Every resource is served only to the EndDevice it
//! belongs to (FSAs and programs: the devices they are assigned to) and to the operator; see
//! [`RegistrationPolicy`] for how EndDevices come to exist.
//!
//! What it does not do: HTTP or TLS (the `net` module, feature `net`, puts it behind hyper and rustls),
//! persistence, or the function sets other than DER, metering mirror, response and subscription.
//!
//! ```
//! use ieee2030_5::identity::{lfdi, sfdi};
//! use ieee2030_5::resources::{DERProgram, EndDeviceList};
//! use ieee2030_5::server::{Request, Server};
//!
//! let mut server = Server::new(300);
//! let device = lfdi(b"the device certificate, DER-encoded");
//! let fsa = server.add_fsa("feeder 12");
//! server.add_program(fsa, DERProgram { primacy: 1, ..Default::default() });
//! server.enrol(device, 111_115, &[fsa], 1_000);
//!
//! let reply = server.handle(&Request::get("/edev?l=10", Some(device)), 1_000);
//! let (list, _) = EndDeviceList::decode(&reply.body)?;
//! assert_eq!(list.end_device[0].sfdi, sfdi(&device));
//! # Ok::<(), ieee2030_5::Error>(())
//! ```

mod der;
mod exchange;
mod notify;
pub mod operator;
mod routes;
mod store;

pub use exchange::{MAX_PAGE, MEDIA_TYPE, Method, Reply, Request};
pub use store::{
    FsaId, OutgoingNotification, Polled, ProgramIndex, Quotas, RegistrationPolicy, Server,
};
