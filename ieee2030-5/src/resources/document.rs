//! Whole documents: a resource as the root element, and the polymorphic `Resource` of a notification.

use super::AnyResource;
use crate::Error;
use crate::xml::{Element, Limits, Reader, Start, WriteNs, Writer, read::XSI_NS};

/// Reads a document whose root is any resource this crate knows; returns it and the bytes used (up to the
/// end of the root element).
///
/// # Errors
/// [`Error::UnknownResource`] for another root; otherwise as the resource's reader.
pub fn decode(input: &[u8]) -> Result<(AnyResource, usize), Error> {
    decode_with(input, Limits::default())
}

/// [`decode`] with explicit limits.
///
/// # Errors
/// As [`decode`].
pub fn decode_with(input: &[u8], limits: Limits) -> Result<(AnyResource, usize), Error> {
    read_document(input, limits, AnyResource::knows, |reader, root| {
        AnyResource::read_as(root.local(), reader, root)
    })
}

/// Writes `resource` as a document: root element named after its type, IEEE 2030.5 as the default namespace.
pub fn encode(resource: &AnyResource, out: &mut Vec<u8>) {
    encode_root(resource.root_ns(), resource.type_name(), out, |w| {
        resource.write_content(w);
    });
}

/// Reads one resource type as a document root.
///
/// # Errors
/// [`Error::UnknownResource`] when the root is another element.
pub(crate) fn decode_root<T>(
    input: &[u8],
    name: &'static str,
    read: impl FnOnce(&mut Reader<'_>, &Start<'_>) -> Result<T, Error>,
) -> Result<(T, usize), Error> {
    read_document(
        input,
        Limits::default(),
        |root| root == name.as_bytes(),
        read,
    )
}

/// A document whose root element `accept`s its local name, read by `read`, nothing after it.
fn read_document<T>(
    input: &[u8],
    limits: Limits,
    accept: impl FnOnce(&[u8]) -> bool,
    read: impl FnOnce(&mut Reader<'_>, &Start<'_>) -> Result<T, Error>,
) -> Result<(T, usize), Error> {
    let mut reader = Reader::new(input, limits)?;
    let root = reader.root()?;
    if !accept(root.local()) {
        return Err(Error::UnknownResource {
            offset: root.offset,
            name: String::from_utf8_lossy(root.local()).into_owned(),
        });
    }
    let value = read(&mut reader, &root)?;
    let used = reader.finish()?;
    Ok((value, used))
}

/// Writes one resource type as a document root.
pub(crate) fn encode_root(
    ns: WriteNs,
    name: &str,
    out: &mut Vec<u8>,
    write: impl FnOnce(&mut Writer),
) {
    let mut writer = Writer::new();
    writer.start(ns, name);
    write(&mut writer);
    writer.end(ns, name);
    out.extend_from_slice(writer.finish().as_bytes());
}

/// A notification's `Resource`: its type comes from `xsi:type` (IEEE 2030.5-2018 clause 6.4: the
/// notification carries the subscribed resource's representation).
impl Element for AnyResource {
    fn read(reader: &mut Reader<'_>, start: &Start<'_>, _: &'static str) -> Result<Self, Error> {
        let type_name = reader
            .attributes(start)?
            .into_iter()
            .find(|a| a.ns.as_deref() == Some(XSI_NS) && a.local == b"type")
            .map(|a| {
                // `xsi:type="sep:DERControl"`: the local part names the type.
                let v = a.value.as_bytes();
                let local = v
                    .iter()
                    .rposition(|b| *b == b':')
                    .map_or(v, |i| v.get(i.saturating_add(1)..).unwrap_or_default());
                local.to_vec()
            });
        match type_name {
            Some(t) => Self::read_as(&t, reader, start),
            None => reader.capture(start).map(Self::Other),
        }
    }

    fn write(&self, writer: &mut Writer, ns: WriteNs, name: &str) {
        writer.start(ns, name);
        if !matches!(self, Self::Other(_)) {
            writer.xsi_type(self.type_name());
        }
        self.write_content(writer);
        writer.end(ns, name);
    }
}

impl crate::xml::Absent for AnyResource {}
