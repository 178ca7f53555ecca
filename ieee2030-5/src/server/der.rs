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
//! the schema's facets), so what the server keeps per device is bounded by the five documents. A `GET`
//! serves the document as the device wrote it: a `hexBinary`'s octet count is part of its value (`03` is
//! one octet, `00000003` four), which a decoded value would lose.
//!
//! The connection point identifier is an Australian NMI (CSIP-AUS): ten characters of digits and upper-case
//! letters other than `O` and `I`, optionally followed by its checksum digit (AEMO's NMI procedure), which
//! must then be right; anything else is refused with 400 (`reasonCode` 1).

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
    pub(crate) capability: Option<Put<DERCapability>>,
    pub(crate) settings: Option<Put<DERSettings>>,
    pub(crate) status: Option<Put<DERStatus>>,
    pub(crate) availability: Option<Put<DERAvailability>>,
    /// `csipaus:ConnectionPoint` (the NMI).
    pub(crate) connection_point: Option<Put<ConnectionPoint>>,
}

/// A resource the device put: its value, and the document as written, which is what a `GET` serves.
#[derive(Debug, Clone)]
pub(crate) struct Put<T> {
    pub(crate) value: T,
    document: Vec<u8>,
}

fn link(href: String) -> Option<Link> {
    Some(Link {
        href,
        ..Default::default()
    })
}

/// Decodes `body` as `T`, sets its href, and stores it with the document in `slot`: 201 where there was
/// none, else 204, both with the resource's `Location`; 400 for a body that is not a valid `T`, or one
/// `accept` refuses (`reasonCode` 1).
fn put<T>(
    slot: &mut Option<Put<T>>,
    body: &[u8],
    href: String,
    decode: Decode<T>,
    set_href: fn(&mut T, String),
    accept: fn(&T) -> bool,
) -> Reply {
    match decode(body) {
        Ok((value, _)) if !accept(&value) => Reply::invalid_values(),
        Ok((mut value, _)) => {
            set_href(&mut value, href.clone());
            let created = slot.is_none();
            *slot = Some(Put {
                value,
                document: with_href(body, &href),
            });
            if created {
                Reply::created(href)
            } else {
                Reply {
                    location: Some(href),
                    ..Reply::no_content()
                }
            }
        }
        Err(_) => Reply::bad_request(),
    }
}

/// The document as written with the server's `href` on its root element (where the device wrote none, or
/// another; a resource is served with its location). `body` is a document the decoder accepted, so its
/// first element is the root.
fn with_href(body: &[u8], href: &str) -> Vec<u8> {
    let root = (0..body.len()).find(|&i| {
        body.get(i) == Some(&b'<') && !matches!(body.get(i.saturating_add(1)), Some(b'?' | b'!'))
    });
    let Some(root) = root else {
        return body.to_vec();
    };
    let tag_end = (root..body.len())
        .find(|&i| body.get(i) == Some(&b'>'))
        .unwrap_or(body.len());
    let name_end = (root..tag_end)
        .find(|&i| matches!(body.get(i), Some(b' ' | b'\t' | b'\r' | b'\n' | b'/')))
        .unwrap_or(tag_end);
    let tag = body.get(name_end..tag_end).unwrap_or(&[]);
    // Drop an href the device wrote (attribute values cannot hold '"' unescaped).
    let mut attributes = Vec::with_capacity(tag.len());
    let mut rest = tag;
    while let Some(at) = rest
        .windows(6)
        .position(|w| w == b" href=" || w == b"\nhref=")
    {
        attributes.extend_from_slice(rest.get(..at).unwrap_or(&[]));
        let after = rest.get(at.saturating_add(6)..).unwrap_or(&[]);
        let quote = after.first().copied().unwrap_or(b'"');
        let close = after
            .iter()
            .skip(1)
            .position(|b| *b == quote)
            .map_or(after.len(), |p| p.saturating_add(2));
        rest = after.get(close..).unwrap_or(&[]);
    }
    attributes.extend_from_slice(rest);
    let mut out = Vec::with_capacity(body.len().saturating_add(href.len()).saturating_add(8));
    out.extend_from_slice(body.get(..name_end).unwrap_or(&[]));
    out.extend_from_slice(b" href=\"");
    out.extend_from_slice(href.as_bytes());
    out.push(b'"');
    out.extend_from_slice(&attributes);
    out.extend_from_slice(body.get(tag_end..).unwrap_or(&[]));
    out
}

/// The document as put, or 404 where the device has not put it yet.
fn get<T>(put: Option<&Put<T>>) -> Reply {
    match put {
        Some(put) => Reply::ok(put.document.clone()),
        None => Reply::status(404),
    }
}

fn any<T>(_: &T) -> bool {
    true
}

/// Whether `id` is an NMI: ten characters of `0-9` and `A-Z` without `O` and `I`, and optionally the
/// checksum digit (AEMO, "National Metering Identifier Procedure", appendix: from the right, every
/// second character's ASCII code doubled, the decimal digits of all summed, the checksum taking the sum
/// to the next multiple of ten).
pub(crate) fn is_nmi(id: &str) -> bool {
    let bytes = id.as_bytes();
    let Some(body) = bytes.get(..10) else {
        return false;
    };
    if !body
        .iter()
        .all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && *b != b'O' && *b != b'I'))
    {
        return false;
    }
    match bytes.get(10..) {
        Some([]) => true,
        Some([check]) if check.is_ascii_digit() => {
            // Digits of the doubled or plain ASCII codes (at most 90 × 2 = 180: three digits).
            let digit_sum = |v: u32| {
                v.to_string()
                    .bytes()
                    .map(|d| u32::from(d.saturating_sub(b'0')))
                    .fold(0u32, u32::saturating_add)
            };
            let sum = body
                .iter()
                .rev()
                .enumerate()
                .map(|(i, b)| {
                    let factor = if i % 2 == 0 { 2 } else { 1 };
                    digit_sum(u32::from(*b).saturating_mul(factor))
                })
                .fold(0u32, u32::saturating_add);
            let expected = 10u32.saturating_sub(sum % 10) % 10;
            u32::from(check.saturating_sub(b'0')) == expected
        }
        _ => false,
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
        let poll_rate = self.poll_rate_of(super::Polled::DERList);
        let Some(device) = self.devices.get_mut(i) else {
            return Reply::status(404);
        };
        let der = &mut device.der;
        let base = format!("/edev/{i}/der/0");
        match (method, rest) {
            (Method::Get, []) => {
                let Some(paging) = super::exchange::Paging::parse(&request.query) else {
                    return Reply::bad_request();
                };
                let all = [Server::der(i)];
                let page = paging.page(&all).to_vec();
                let mut body = Vec::new();
                DERList {
                    href: Some(format!("/edev/{i}/der")),
                    all: 1,
                    results: u32::try_from(page.len()).unwrap_or(u32::MAX),
                    poll_rate: Some(poll_rate),
                    der: page,
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
            (Method::Get, ["0", "dercap"]) => get(der.capability.as_ref()),
            (Method::Get, ["0", "derg"]) => get(der.settings.as_ref()),
            (Method::Get, ["0", "ders"]) => get(der.status.as_ref()),
            (Method::Get, ["0", "dera"]) => get(der.availability.as_ref()),
            (Method::Put, ["0", "dercap"]) => put(
                &mut der.capability,
                &request.body,
                format!("{base}/dercap"),
                DERCapability::decode,
                |v, h| v.href = Some(h),
                any,
            ),
            (Method::Put, ["0", "derg"]) => put(
                &mut der.settings,
                &request.body,
                format!("{base}/derg"),
                DERSettings::decode,
                |v, h| v.href = Some(h),
                any,
            ),
            (Method::Put, ["0", "ders"]) => put(
                &mut der.status,
                &request.body,
                format!("{base}/ders"),
                DERStatus::decode,
                |v, h| v.href = Some(h),
                any,
            ),
            (Method::Put, ["0", "dera"]) => put(
                &mut der.availability,
                &request.body,
                format!("{base}/dera"),
                DERAvailability::decode,
                |v, h| v.href = Some(h),
                any,
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
            Method::Get => get(slot.as_ref()),
            Method::Put => put(
                slot,
                &request.body,
                format!("/edev/{i}/cp"),
                ConnectionPoint::decode,
                |v, h| v.href = Some(h),
                |c| is_nmi(&c.connection_point_id),
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
                let value = ConnectionPoint {
                    href: Some(format!("/edev/{i}/cp")),
                    connection_point_id: id.to_owned(),
                    ..Default::default()
                };
                let mut document = Vec::new();
                value.encode(&mut document);
                d.der.connection_point = Some(Put { value, document });
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
            .map(|c| c.value.connection_point_id.as_str())
    }

    /// The DERCapability the device with this LFDI has put, for the operator.
    pub fn der_capability(&self, device: &HexBinary160) -> Option<&DERCapability> {
        self.der_state(device)?
            .capability
            .as_ref()
            .map(|p| &p.value)
    }

    /// The DERSettings the device with this LFDI has put, for the operator.
    pub fn der_settings(&self, device: &HexBinary160) -> Option<&DERSettings> {
        self.der_state(device)?.settings.as_ref().map(|p| &p.value)
    }

    /// The DERStatus the device with this LFDI has put, for the operator.
    pub fn der_status(&self, device: &HexBinary160) -> Option<&DERStatus> {
        self.der_state(device)?.status.as_ref().map(|p| &p.value)
    }

    /// The DERAvailability the device with this LFDI has put, for the operator.
    pub fn der_availability(&self, device: &HexBinary160) -> Option<&DERAvailability> {
        self.der_state(device)?
            .availability
            .as_ref()
            .map(|p| &p.value)
    }

    fn der_state(&self, device: &HexBinary160) -> Option<&DerState> {
        let i = self.device_of(device)?;
        Some(&self.devices.get(i)?.der)
    }
}
