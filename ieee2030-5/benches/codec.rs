//! Parse and serialise the 33 real documents of `../shared/ieee2030-5/samples/` with our codec and with the
//! `sep2_common` crate (0.2, the maintained Rust alternative), same documents, same run. Each side reads
//! into the document's own type (no dispatch on the root element) and writes it back; documents
//! `sep2_common` cannot read are listed and left out of both sides. Serialising writes a value parsed
//! beforehand (sizes are those of the input documents). Ratios are printed at the end: medians
//! of 15 interleaved rounds, so a noisy neighbour hits both alike.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    missing_docs
)]

use criterion::{Criterion, Throughput};
use ieee2030_5::resources as ours;
use sep2_common::packages as peer;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Reads a document (the result is dropped).
type Parse<T> = Box<dyn Fn(&T)>;
/// Writes a value parsed beforehand into the buffer.
type Write = Box<dyn Fn(&mut Vec<u8>)>;

/// One document with both codecs' parse and serialise, each over the document's own type.
struct Case {
    name: String,
    text: String,
    ours_parse: Parse<[u8]>,
    peer_parse: Parse<str>,
    ours_write: Write,
    peer_write: Write,
}

/// The closures of one document, given our type and the peer's; `None` when the peer cannot read it.
fn case<O, P>(name: String, text: String) -> Option<Case>
where
    O: Codec + 'static,
    P: sep2_common::traits::SEType + 'static,
{
    let theirs = match sep2_common::deserialize::<P>(&text) {
        Ok(value) => value,
        Err(e) => {
            println!("sep2_common cannot read {name}: {e}");
            return None;
        }
    };
    let mine = O::parse(text.as_bytes()).expect("ours reads every sample");
    Some(Case {
        name,
        text,
        ours_parse: Box::new(|b| {
            black_box(O::parse(b).unwrap());
        }),
        peer_parse: Box::new(|s| {
            black_box(sep2_common::deserialize::<P>(s).unwrap());
        }),
        ours_write: Box::new(move |out| {
            out.clear();
            mine.write(out);
        }),
        peer_write: Box::new(move |out| {
            let text = sep2_common::serialize(&theirs).unwrap();
            out.clear();
            out.extend_from_slice(text.as_bytes());
        }),
    })
}

/// Our typed codec, as one trait for the table below.
trait Codec: Sized {
    fn parse(input: &[u8]) -> Result<Self, ieee2030_5::Error>;
    fn write(&self, out: &mut Vec<u8>);
}

macro_rules! codec {
    ($($t:ident),*) => {$(
        impl Codec for ours::$t {
            fn parse(input: &[u8]) -> Result<Self, ieee2030_5::Error> {
                ours::$t::decode(input).map(|(v, _)| v)
            }
            fn write(&self, out: &mut Vec<u8>) {
                self.encode(out);
            }
        }
    )*};
}

codec!(
    DeviceCapability,
    EndDevice,
    EndDeviceList,
    Registration,
    FunctionSetAssignmentsList,
    DERProgramList,
    DERControlList,
    MirrorUsagePoint,
    MirrorMeterReading,
    MeterReadingList,
    ReadingType,
    Time,
    DefaultDERControl,
    MirrorUsagePointList,
    DERList,
    DERStatus,
    DERSettings,
    DERCapability,
    DERControlResponse,
    DERAvailability,
    Error,
    Notification,
    Subscription
);

fn cases() -> Vec<Case> {
    let dir = std::env::var_os("SEP_SAMPLES").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/ieee2030-5/samples"),
        PathBuf::from,
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let (root, _) = ours::decode(text.as_bytes()).unwrap();
        let case = match root.type_name() {
            "DeviceCapability" => {
                case::<ours::DeviceCapability, peer::dcap::DeviceCapability>(name, text)
            }
            "EndDevice" => case::<ours::EndDevice, peer::edev::EndDevice>(name, text),
            "EndDeviceList" => case::<ours::EndDeviceList, peer::edev::EndDeviceList>(name, text),
            "Registration" => case::<ours::Registration, peer::edev::Registration>(name, text),
            "FunctionSetAssignmentsList" => case::<
                ours::FunctionSetAssignmentsList,
                peer::fsa::FunctionSetAssignmentsList,
            >(name, text),
            "DERProgramList" => case::<ours::DERProgramList, peer::der::DERProgramList>(name, text),
            "DERControlList" => case::<ours::DERControlList, peer::der::DERControlList>(name, text),
            "MirrorUsagePoint" => {
                case::<ours::MirrorUsagePoint, peer::metering_mirror::MirrorUsagePoint>(name, text)
            }
            "MirrorMeterReading" => case::<
                ours::MirrorMeterReading,
                peer::metering_mirror::MirrorMeterReading,
            >(name, text),
            "MeterReadingList" => {
                case::<ours::MeterReadingList, peer::metering::MeterReadingList>(name, text)
            }
            "ReadingType" => case::<ours::ReadingType, peer::metering::ReadingType>(name, text),
            "Time" => case::<ours::Time, peer::time::Time>(name, text),
            "DefaultDERControl" => {
                case::<ours::DefaultDERControl, peer::der::DefaultDERControl>(name, text)
            }
            "MirrorUsagePointList" => case::<
                ours::MirrorUsagePointList,
                peer::metering_mirror::MirrorUsagePointList,
            >(name, text),
            "DERList" => case::<ours::DERList, peer::der::DERList>(name, text),
            "DERStatus" => case::<ours::DERStatus, peer::der::DERStatus>(name, text),
            "DERSettings" => case::<ours::DERSettings, peer::der::DERSettings>(name, text),
            "DERCapability" => case::<ours::DERCapability, peer::der::DERCapability>(name, text),
            "DERControlResponse" => {
                case::<ours::DERControlResponse, peer::response::DERControlResponse>(name, text)
            }
            "DERAvailability" => {
                case::<ours::DERAvailability, peer::der::DERAvailability>(name, text)
            }
            "Error" => case::<ours::Error, peer::objects::Error>(name, text),
            "Notification" => case::<
                ours::Notification,
                peer::pubsub::Notification<peer::metering::ReadingList>,
            >(name, text),
            "Subscription" => case::<ours::Subscription, peer::pubsub::Subscription>(name, text),
            other => {
                println!("{name}: no peer type for {other}");
                None
            }
        };
        cases.extend(case);
    }
    cases
}

/// Time of `rounds` passes over every case with one of the four closures.
fn pass(cases: &[Case], which: usize, rounds: u32, out: &mut Vec<u8>) -> Duration {
    let start = Instant::now();
    for _ in 0..rounds {
        for c in cases {
            match which {
                0 => (c.ours_parse)(black_box(c.text.as_bytes())),
                1 => (c.peer_parse)(black_box(&c.text)),
                2 => (c.ours_write)(out),
                _ => (c.peer_write)(out),
            }
        }
    }
    start.elapsed()
}

fn main() {
    let cases = cases();
    let bytes: usize = cases.iter().map(|c| c.text.len()).sum();
    println!(
        "{} of 33 documents read by both, {bytes} bytes: {}",
        cases.len(),
        {
            let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
            names.join(", ")
        }
    );
    let mut out = Vec::new();
    let mut criterion = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let labels = ["ours", "sep2_common", "ours", "sep2_common"];
    for (title, first) in [("parse corpus", 0usize), ("serialise corpus", 2)] {
        let mut group = criterion.benchmark_group(title);
        group.throughput(Throughput::Bytes(bytes as u64));
        for which in [first, first + 1] {
            group.bench_function(labels[which], |b| {
                b.iter_custom(|iters| pass(&cases, which, iters as u32, &mut out));
            });
        }
        group.finish();
    }

    // Interleaved rounds: each round times every side over the corpus 20 times.
    let mut times: [Vec<f64>; 4] = Default::default();
    for _ in 0..15 {
        for (which, t) in times.iter_mut().enumerate() {
            t.push(pass(&cases, which, 20, &mut out).as_secs_f64());
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let [ours_parse, peer_parse, ours_write, peer_write] = times.map(|mut t| median(&mut t));
    let mb = |secs: f64| bytes as f64 * 20.0 / secs / 1e6;
    println!(
        "\nmedian of 15 interleaved rounds, {} documents × 20 per round:",
        cases.len()
    );
    println!(
        "  parse:     ours {:.1} MB/s, sep2_common {:.1} MB/s — ours {:.2}× faster",
        mb(ours_parse),
        mb(peer_parse),
        peer_parse / ours_parse
    );
    println!(
        "  serialise: ours {:.1} MB/s, sep2_common {:.1} MB/s — ours {:.2}× faster",
        mb(ours_write),
        mb(peer_write),
        peer_write / ours_write
    );
}
