//! The DER client of one EndDevice (IEEE 2030.5-2018 clause 10.10 and CSIP's client flow): discovery from
//! `/dcap`, the server's time, the EndDevice and its registration, the function set assignments, the DER
//! programs with their events and defaults — fed to the [`Scheduler`] — the responses it owes, and mirrored
//! meter readings. The caller owns time: `step(now)` does what is due and says when to call again.

use super::http::Connection;
use crate::Error;
use crate::identity::sfdi;
use crate::primitives::{HexBinary, HexBinary160, Mrid};
use crate::resources::{
    DERControlList, DERProgramList, Decode, DefaultDERControl, DeviceCapability, EndDevice,
    EndDeviceList, FunctionSetAssignments, FunctionSetAssignmentsList, MirrorMeterReading,
    MirrorUsagePoint, Registration, Time,
};
use crate::scheduler::{
    ActiveControls, ModeSet, OutgoingResponse, Scheduler, SchedulerConfig, UnixTime,
};
use std::collections::{BTreeSet, VecDeque};

/// How many list entries to ask for per request.
const PAGE: usize = 50;
/// The poll rate when the server gives none (the schema's default, 900 s).
const DEFAULT_POLL_RATE: u32 = 900;

/// What the client needs to know about its device.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The LFDI of the device's certificate.
    pub lfdi: HexBinary160,
    /// The registration PIN the server must hold for this device; `None` skips the check.
    pub pin: Option<u32>,
    /// The path of the server's DeviceCapability (usually `/dcap`).
    pub dcap: String,
    /// The name the scheduler gives this server's programs.
    pub server: String,
    /// The device's `deviceCategory`, `None` for any.
    pub device_category: Option<HexBinary<4>>,
    /// The modes the device supports.
    pub supported: ModeSet,
    /// The seed of the event randomisation.
    pub seed: u64,
}

/// A DER client: one EndDevice talking to one server.
#[derive(Debug)]
pub struct DerClient {
    http: Connection,
    config: ClientConfig,
    scheduler: Scheduler,
    end_device: Option<String>,
    mirror_list: Option<String>,
    programs: BTreeSet<Mrid>,
    next_poll: Option<UnixTime>,
    unsent: VecDeque<OutgoingResponse>,
}

impl DerClient {
    /// A client over `http`; nothing is sent before the first [`step`](Self::step).
    pub fn new(http: Connection, config: ClientConfig) -> Self {
        let scheduler = Scheduler::new(SchedulerConfig {
            lfdi: config.lfdi,
            device_category: config.device_category,
            supported: config.supported,
            seed: config.seed,
        });
        DerClient {
            http,
            config,
            scheduler,
            end_device: None,
            mirror_list: None,
            programs: BTreeSet::new(),
            next_poll: None,
            unsent: VecDeque::new(),
        }
    }

    /// Does what is due at device time `now` — the discovery walk when the poll rate says so, the scheduler's
    /// changes, the responses owed — and returns the device time to call again.
    ///
    /// # Errors
    /// Transport and HTTP failures, a document that does not parse, a registration that does not match.
    /// Responses that could not be posted are kept and retried at the next step.
    pub async fn step(&mut self, now: UnixTime) -> Result<UnixTime, Error> {
        if self.next_poll.is_none_or(|t| now >= t) {
            self.poll(now).await?;
        }
        self.scheduler.handle_timeout(now);
        self.post_responses().await?;
        let next_poll = self.next_poll.unwrap_or(now);
        Ok(self
            .scheduler
            .poll_timeout()
            .map_or(next_poll, |t| t.min(next_poll)))
    }

    /// The controls in force.
    pub fn active(&self) -> &ActiveControls {
        self.scheduler.active()
    }

    /// The scheduler (for its events and state changes, and to opt out or in).
    pub fn scheduler(&mut self) -> &mut Scheduler {
        &mut self.scheduler
    }

    /// The href of this device's EndDevice, once found.
    pub fn end_device(&self) -> Option<&str> {
        self.end_device.as_deref()
    }

    /// The whole walk: `/dcap`, `/tm`, the EndDevice (registering it if the list does not show it), its
    /// Registration, its FunctionSetAssignments, their programs, events and defaults.
    ///
    /// # Errors
    /// As [`step`](Self::step).
    pub async fn poll(&mut self, now: UnixTime) -> Result<(), Error> {
        let dcap = self
            .http
            .get(&self.config.dcap.clone(), DeviceCapability::decode)
            .await?;
        let mut poll_rate = dcap.poll_rate.unwrap_or(DEFAULT_POLL_RATE);
        if let Some(link) = &dcap.time_link {
            let time = self.http.get(&link.href, Time::decode).await?;
            self.scheduler.set_time(&time, now);
        }
        self.mirror_list = dcap
            .mirror_usage_point_list_link
            .as_ref()
            .map(|l| l.href.clone());
        let list = dcap.end_device_list_link.as_ref().ok_or_else(|| {
            Error::Registration("the server's DeviceCapability has no EndDeviceListLink".into())
        })?;
        let device = self.find_end_device(&list.href, now).await?;
        if let (Some(link), Some(pin)) = (&device.registration_link, self.config.pin) {
            let registration = self.http.get(&link.href, Registration::decode).await?;
            if registration.pin != pin {
                return Err(Error::Registration(format!(
                    "the server holds PIN {} for this device, not {pin}",
                    registration.pin
                )));
            }
        }
        let mut seen = BTreeSet::new();
        if let Some(link) = &device.function_set_assignments_list_link {
            let fsas = self
                .all(&link.href, FunctionSetAssignmentsList::decode, |l| {
                    l.function_set_assignments
                })
                .await?
                .0;
            for fsa in fsas {
                poll_rate = poll_rate.min(self.walk_fsa(&fsa, now, &mut seen).await?);
            }
        }
        for gone in self.programs.difference(&seen) {
            self.scheduler
                .remove_program(&self.config.server, gone, now);
        }
        self.programs = seen;
        self.next_poll = Some(now.saturating_add(i64::from(poll_rate.max(1))));
        Ok(())
    }

    /// Finds this device's EndDevice in the list, registering it by `POST` if it is not there.
    async fn find_end_device(&mut self, list: &str, now: UnixTime) -> Result<EndDevice, Error> {
        let lfdi = self.config.lfdi;
        let ours =
            |d: &EndDevice| d.lfdi == Some(lfdi) || (d.lfdi.is_none() && d.sfdi == sfdi(&lfdi));
        if let Some(href) = self.end_device.clone() {
            let device = self.http.get(&href, EndDevice::decode).await?;
            if ours(&device) {
                return Ok(device);
            }
        }
        let devices = self
            .all(list, EndDeviceList::decode, |l| l.end_device)
            .await?
            .0;
        if let Some(device) = devices.into_iter().find(ours) {
            self.end_device = device.href.clone();
            return Ok(device);
        }
        let mut body = Vec::new();
        EndDevice {
            lfdi: Some(lfdi),
            sfdi: sfdi(&lfdi),
            changed_time: self.scheduler.server_time(now),
            device_category: self.config.device_category,
            ..Default::default()
        }
        .encode(&mut body);
        let location = self.http.post(list, body).await?.ok_or_else(|| {
            Error::Registration("the server created no EndDevice location".into())
        })?;
        let device = self.http.get(&location, EndDevice::decode).await?;
        self.end_device = Some(location);
        Ok(device)
    }

    /// Reads one FunctionSetAssignments' programs into the scheduler; returns the smallest poll rate seen.
    async fn walk_fsa(
        &mut self,
        fsa: &FunctionSetAssignments,
        now: UnixTime,
        seen: &mut BTreeSet<Mrid>,
    ) -> Result<u32, Error> {
        let Some(link) = &fsa.der_program_list_link else {
            return Ok(u32::MAX);
        };
        let (programs, poll_rate) = self
            .all(&link.href, DERProgramList::decode, |l| l.der_program)
            .await?;
        for program in programs {
            let controls = match &program.der_control_list_link {
                Some(l) => {
                    self.all(&l.href, DERControlList::decode, |l| l.der_control)
                        .await?
                        .0
                }
                None => Vec::new(),
            };
            let default = match &program.default_der_control_link {
                Some(l) => match self.http.get(&l.href, DefaultDERControl::decode).await {
                    Ok(d) => Some(d),
                    Err(Error::Http { status: 404, .. }) => None,
                    Err(e) => return Err(e),
                },
                None => None,
            };
            self.scheduler.update_program(
                &self.config.server,
                &program,
                &controls,
                default.as_ref(),
                now,
            );
            seen.insert(program.mrid);
        }
        Ok(poll_rate.unwrap_or(u32::MAX))
    }

    /// Every entry of a paged list (`s` and `l`), stopping at `all` or an empty page, with the first page's
    /// `pollRate`.
    async fn all<L, T>(
        &mut self,
        href: &str,
        decode: Decode<L>,
        entries: fn(L) -> Vec<T>,
    ) -> Result<(Vec<T>, Option<u32>), Error>
    where
        L: ListCounts,
    {
        let mut out = Vec::new();
        let mut poll_rate = None;
        loop {
            let list = self.http.get(&with_page(href, out.len()), decode).await?;
            if out.is_empty() {
                poll_rate = list.poll_rate();
            }
            let all = usize::try_from(list.all()).unwrap_or(usize::MAX);
            let page = entries(list);
            let empty = page.is_empty();
            out.extend(page);
            if empty || out.len() >= all {
                return Ok((out, poll_rate));
            }
        }
    }

    /// Posts every response the scheduler has queued to its `replyTo`.
    async fn post_responses(&mut self) -> Result<(), Error> {
        while let Some(response) = self.scheduler.poll_response() {
            self.unsent.push_back(response);
        }
        while let Some(response) = self.unsent.front() {
            let Some(reply_to) = response.reply_to.clone() else {
                self.unsent.pop_front();
                continue;
            };
            let mut body = Vec::new();
            response.response.encode(&mut body);
            self.http.post(&reply_to, body).await?;
            self.unsent.pop_front();
        }
        Ok(())
    }

    /// Mirrors a meter (clause 10.8): creates (or finds, by mRID) the MirrorUsagePoint, then posts the
    /// reading to it. Returns the MirrorUsagePoint's href.
    ///
    /// # Errors
    /// As [`step`](Self::step); [`Error::Registration`] if the server offers no mirror list (poll first).
    pub async fn mirror(
        &mut self,
        usage_point: &MirrorUsagePoint,
        reading: &MirrorMeterReading,
    ) -> Result<String, Error> {
        let list = self.mirror_list.clone().ok_or_else(|| {
            Error::Registration(
                "the server's DeviceCapability has no MirrorUsagePointListLink".into(),
            )
        })?;
        let mut body = Vec::new();
        usage_point.encode(&mut body);
        let href = self.http.post(&list, body).await?.ok_or_else(|| {
            Error::Registration("the server created no MirrorUsagePoint location".into())
        })?;
        let mut body = Vec::new();
        reading.encode(&mut body);
        self.http.post(&href, body).await?;
        Ok(href)
    }
}

fn with_page(href: &str, start: usize) -> String {
    let separator = if href.contains('?') { '&' } else { '?' };
    format!("{href}{separator}s={start}&l={PAGE}")
}

/// The `all` and `pollRate` attributes of a list resource.
trait ListCounts {
    fn all(&self) -> u32;
    fn poll_rate(&self) -> Option<u32>;
}

macro_rules! list_counts {
    ($($t:ty),*) => {$(
        impl ListCounts for $t {
            fn all(&self) -> u32 {
                self.all
            }
            fn poll_rate(&self) -> Option<u32> {
                self.poll_rate
            }
        }
    )*};
}

list_counts!(EndDeviceList, FunctionSetAssignmentsList, DERProgramList);

/// An event list has no `pollRate` of its own.
impl ListCounts for DERControlList {
    fn all(&self) -> u32 {
        self.all
    }
    fn poll_rate(&self) -> Option<u32> {
        None
    }
}
