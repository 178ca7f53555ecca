//! The DER function set on each EndDevice (clause 10.10.4; CSIP-AUS): one `DER` per EndDevice, whose
//! capability, settings, status and availability the device `PUT`s and the device and the operator read.
//!
//! ```text
//! /edev/{i}/der                 DERList (one DER)
//! /edev/{i}/der/0               DER, with links to the four below
//! /edev/{i}/der/0/dercap        DERCapability      PUT by the device
//! /edev/{i}/der/0/derg          DERSettings        PUT by the device
//! /edev/{i}/der/0/ders          DERStatus          PUT by the device
//! /edev/{i}/der/0/dera          DERAvailability    PUT by the device
//! ```
//!
//! Beside it, CSIP-AUS's `ConnectionPoint` (`/edev/{i}/cp`, linked from the EndDevice as
//! `csipaus:ConnectionPointLink`): the connection point's identifier — in Australia the NMI — put by the
//! device (or its aggregator) or set by the operator ([`Server::set_connection_point`]).
//!
//! A resource the device has not put yet is 404; a put replaces the whole resource (the decoder has checked
//! the schema's facets), so what the server keeps per device is bounded by the four documents.

use super::exchange::{Method, Reply, Request};
use super::store::Server;
use crate::primitives::HexBinary160;
use crate::resources::{
    ConnectionPoint, DER, DERAvailability, DERCapability, DERList, DERSettings, DERStatus, Decode,
    Link, ListLink,
};

/// What a device has told the server of its DER.
#[derive(Debug, Clone, Default)]
pub(crate) struct DerState {
    pub(crate) capability: Option<DERCapability>,
    pub(crate) settings: Option<DERSettings>,
    pub(crate) status: Option<DERStatus>,
    pub(crate) availability: Option<DERAvailability>,
    /// `csipaus:ConnectionPoint` (the NMI).
    pub(crate) connection_point: Option<ConnectionPoint>,
}

fn link(href: String) -> Option<Link> {
    Some(Link {
        href,
        ..Default::default()
    })
}

/// Decodes `body` as `T`, sets its href, and stores it in `slot`: 204, or 400 for a body that is not a
/// valid `T`.
fn put<T>(
    slot: &mut Option<T>,
    body: &[u8],
    href: String,
    decode: Decode<T>,
    set_href: fn(&mut T, String),
) -> Reply {
    match decode(body) {
        Ok((mut value, _)) => {
            set_href(&mut value, href);
            *slot = Some(value);
            Reply::no_content()
        }
        Err(_) => Reply::bad_request(),
    }
}

/// Encodes `value` as the reply, or 404 where the device has not put it yet.
fn get<T>(value: Option<&T>, encode: fn(&T, &mut Vec<u8>)) -> Reply {
    match value {
        Some(value) => {
            let mut body = Vec::new();
            encode(value, &mut body);
            Reply::ok(body)
        }
        None => Reply::status(404),
    }
}

impl Server {
    /// The `DERListLink` of EndDevice `i`.
    pub(crate) fn der_list_link(i: usize) -> Option<ListLink> {
        Some(ListLink {
            href: format!("/edev/{i}/der"),
            all: Some(1),
            ..Default::default()
        })
    }

    fn der(i: usize) -> DER {
        let base = format!("/edev/{i}/der/0");
        DER {
            href: Some(base.clone()),
            der_capability_link: link(format!("{base}/dercap")),
            der_settings_link: link(format!("{base}/derg")),
            der_status_link: link(format!("{base}/ders")),
            der_availability_link: link(format!("{base}/dera")),
            ..Default::default()
        }
    }

    /// `…/der…` of EndDevice `i` (`rest` after `der`), the client's access to the EndDevice checked.
    pub(crate) fn der_resource(
        &mut self,
        method: Method,
        i: usize,
        rest: &[&str],
        request: &Request,
    ) -> Reply {
        let poll_rate = self.poll_rate;
        let Some(device) = self.devices.get_mut(i) else {
            return Reply::status(404);
        };
        let der = &mut device.der;
        let base = format!("/edev/{i}/der/0");
        match (method, rest) {
            (Method::Get, []) => {
                let mut body = Vec::new();
                DERList {
                    href: Some(format!("/edev/{i}/der")),
                    all: 1,
                    results: 1,
                    poll_rate: Some(poll_rate),
                    der: vec![Server::der(i)],
                    ..Default::default()
                }
                .encode(&mut body);
                Reply::ok(body)
            }
            (Method::Get, ["0"]) => {
                let mut body = Vec::new();
                Server::der(i).encode(&mut body);
                Reply::ok(body)
            }
            (Method::Get, ["0", "dercap"]) => get(der.capability.as_ref(), DERCapability::encode),
            (Method::Get, ["0", "derg"]) => get(der.settings.as_ref(), DERSettings::encode),
            (Method::Get, ["0", "ders"]) => get(der.status.as_ref(), DERStatus::encode),
            (Method::Get, ["0", "dera"]) => get(der.availability.as_ref(), DERAvailability::encode),
            (Method::Put, ["0", "dercap"]) => put(
                &mut der.capability,
                &request.body,
                format!("{base}/dercap"),
                DERCapability::decode,
                |v, h| v.href = Some(h),
            ),
            (Method::Put, ["0", "derg"]) => put(
                &mut der.settings,
                &request.body,
                format!("{base}/derg"),
                DERSettings::decode,
                |v, h| v.href = Some(h),
            ),
            (Method::Put, ["0", "ders"]) => put(
                &mut der.status,
                &request.body,
                format!("{base}/ders"),
                DERStatus::decode,
                |v, h| v.href = Some(h),
            ),
            (Method::Put, ["0", "dera"]) => put(
                &mut der.availability,
                &request.body,
                format!("{base}/dera"),
                DERAvailability::decode,
                |v, h| v.href = Some(h),
            ),
            (Method::Get, _) => Reply::status(404),
            _ => Reply::status(405),
        }
    }

    /// `/edev/{i}/cp`: the EndDevice's `csipaus:ConnectionPoint`.
    pub(crate) fn connection_point_resource(
        &mut self,
        method: Method,
        i: usize,
        request: &Request,
    ) -> Reply {
        let Some(device) = self.devices.get_mut(i) else {
            return Reply::status(404);
        };
        let slot = &mut device.der.connection_point;
        match method {
            Method::Get => get(slot.as_ref(), ConnectionPoint::encode),
            Method::Put => put(
                slot,
                &request.body,
                format!("/edev/{i}/cp"),
                ConnectionPoint::decode,
                |v, h| v.href = Some(h),
            ),
            _ => Reply::status(405),
        }
    }

    /// Sets the connection point identifier (the NMI) of the device with this LFDI; false if there is no
    /// such device, or the identifier is longer than the schema's 32 octets.
    pub fn set_connection_point(&mut self, device: &HexBinary160, id: &str) -> bool {
        let Some(i) = self.device_of(device) else {
            return false;
        };
        if id.len() > 32 {
            return false;
        }
        match self.devices.get_mut(i) {
            Some(d) => {
                d.der.connection_point = Some(ConnectionPoint {
                    href: Some(format!("/edev/{i}/cp")),
                    connection_point_id: id.to_owned(),
                    ..Default::default()
                });
                true
            }
            None => false,
        }
    }

    /// The connection point identifier (the NMI) of the device with this LFDI, if known.
    pub fn connection_point(&self, device: &HexBinary160) -> Option<&str> {
        self.der_state(device)?
            .connection_point
            .as_ref()
            .map(|c| c.connection_point_id.as_str())
    }

    /// The DERCapability the device with this LFDI has put, for the operator.
    pub fn der_capability(&self, device: &HexBinary160) -> Option<&DERCapability> {
        self.der_state(device)?.capability.as_ref()
    }

    /// The DERSettings the device with this LFDI has put, for the operator.
    pub fn der_settings(&self, device: &HexBinary160) -> Option<&DERSettings> {
        self.der_state(device)?.settings.as_ref()
    }

    /// The DERStatus the device with this LFDI has put, for the operator.
    pub fn der_status(&self, device: &HexBinary160) -> Option<&DERStatus> {
        self.der_state(device)?.status.as_ref()
    }

    /// The DERAvailability the device with this LFDI has put, for the operator.
    pub fn der_availability(&self, device: &HexBinary160) -> Option<&DERAvailability> {
        self.der_state(device)?.availability.as_ref()
    }

    fn der_state(&self, device: &HexBinary160) -> Option<&DerState> {
        let i = self.device_of(device)?;
        Some(&self.devices.get(i)?.der)
    }
}
