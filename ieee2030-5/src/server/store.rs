//! What the server holds, and the operator's side of it: enrolling devices, publishing programs and events,
//! reading the responses and readings that came in.

use crate::identity::sfdi;
use crate::primitives::{HexBinary160, Mrid};
use crate::resources::{
    DERControl, DERControlList, DERControlResponse, DERProgram, DefaultDERControl,
    MirrorUsagePoint, Notification,
};
use crate::scheduler::ModeSet;
use std::collections::VecDeque;

/// A FunctionSetAssignments of the server (its index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FsaId(pub(crate) usize);

/// A DER program of the server (its index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProgramIndex(pub(crate) usize);

impl ProgramIndex {
    /// The program's href (`/derp/{k}`); its event list is at `{href}/derc`.
    pub fn href(self) -> String {
        format!("/derp/{}", self.0)
    }
}

/// A notification to `POST` to a subscriber.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingNotification {
    /// The subscriber's `notificationURI`.
    pub uri: String,
    /// The notification.
    pub notification: Notification,
}

/// The resources that carry a `pollRate` (clause 5.5.1.3: the server tells clients how often to read
/// them), for [`Server::set_poll_rate_of`]. Named as CSIP-AUS names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Polled {
    /// `DeviceCapability`.
    DeviceCapability,
    /// `Time`.
    Time,
    /// `EndDeviceList`.
    EndDeviceList,
    /// `Registration`.
    Registration,
    /// `FunctionSetAssignmentsList`.
    FunctionSetAssignmentsList,
    /// `DERProgramList`.
    DERProgramList,
    /// `DERList`.
    DERList,
    /// `MirrorUsagePointList`.
    MirrorUsagePointList,
}

impl Polled {
    /// Every kind, in the order above.
    pub const ALL: [Polled; 8] = [
        Polled::DeviceCapability,
        Polled::Time,
        Polled::EndDeviceList,
        Polled::Registration,
        Polled::FunctionSetAssignmentsList,
        Polled::DERProgramList,
        Polled::DERList,
        Polled::MirrorUsagePointList,
    ];

    /// The resource's schema name (`"EndDeviceList"`).
    pub fn name(self) -> &'static str {
        match self {
            Polled::DeviceCapability => "DeviceCapability",
            Polled::Time => "Time",
            Polled::EndDeviceList => "EndDeviceList",
            Polled::Registration => "Registration",
            Polled::FunctionSetAssignmentsList => "FunctionSetAssignmentsList",
            Polled::DERProgramList => "DERProgramList",
            Polled::DERList => "DERList",
            Polled::MirrorUsagePointList => "MirrorUsagePointList",
        }
    }

    /// The kind with this schema name.
    pub fn from_name(name: &str) -> Option<Polled> {
        Polled::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// Whom a request's client acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Acting {
    /// The operator (no certificate): everyone.
    Operator,
    /// These LFDIs: the client's own and, for an aggregator, those of the EndDevices it manages.
    For(Vec<HexBinary160>),
}

impl Acting {
    /// Whether the client acts for the device with this LFDI.
    pub(crate) fn covers(&self, lfdi: &HexBinary160) -> bool {
        match self {
            Acting::Operator => true,
            Acting::For(lfdis) => lfdis.contains(lfdi),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Device {
    pub(crate) lfdi: HexBinary160,
    /// Removed by the operator: invisible to every client, its href not reused (enrolling the LFDI again
    /// makes a new EndDevice).
    pub(crate) removed: bool,
    /// The aggregator (CSIP-AUS) whose certificate manages this EndDevice, if any.
    pub(crate) aggregator: Option<HexBinary160>,
    /// The registration PIN the operator enrolled; `None` for a device registered in band and not yet
    /// confirmed by the operator (its Registration is not served until then).
    pub(crate) pin: Option<u32>,
    /// Whether it registered itself in band (counted against [`Quotas::in_band_devices`]).
    pub(crate) in_band: bool,
    pub(crate) registered: i64,
    pub(crate) changed: i64,
    pub(crate) fsas: Vec<FsaId>,
    /// `None` where a subscription was deleted (indexes are hrefs).
    pub(crate) subscriptions: Vec<Option<super::notify::Held>>,
    /// What the device has put of its DER (capability, settings, status, availability).
    pub(crate) der: super::der::DerState,
}

#[derive(Debug, Clone)]
pub(crate) struct Fsa {
    pub(crate) mrid: Mrid,
    pub(crate) description: String,
    pub(crate) programs: Vec<ProgramIndex>,
}

#[derive(Debug, Clone)]
pub(crate) struct Program {
    pub(crate) program: DERProgram,
    /// In publication order (their hrefs); lists are served sorted as the standard requires.
    pub(crate) controls: Vec<DERControl>,
    pub(crate) default: Option<DefaultDERControl>,
}

/// What superseding compares between two events of a program.
#[derive(Debug, Clone, Copy)]
struct EventFacts {
    mrid: Mrid,
    created: i64,
    start: i64,
    /// The earliest effective start: the start moved back by a negative start randomisation.
    earliest: i64,
    end: i64,
    modes: ModeSet,
    category: Option<u32>,
}

impl EventFacts {
    fn of(c: &DERControl) -> Self {
        let start = c.interval.start;
        EventFacts {
            mrid: c.mrid,
            created: c.creation_time,
            start,
            earliest: start.saturating_add(i64::from(c.randomize_start.unwrap_or(0).min(0))),
            end: start.saturating_add(i64::from(c.interval.duration)),
            modes: ModeSet::of(&c.der_control_base),
            category: c.device_category.map(|d| u32::from_be_bytes(d.0)),
        }
    }
}

/// The server's resources (see the [module documentation](super)). Every method that depends on time takes
/// `now`, the server's clock in Unix seconds.
#[derive(Debug, Clone)]
pub struct Server {
    pub(crate) poll_rate: u32,
    /// Poll rates the operator set for one resource, over `poll_rate`.
    pub(crate) poll_rates: Vec<(Polled, u32)>,
    /// The `postRate` asked of mirror usage points, if the operator set one.
    pub(crate) post_rate: Option<u32>,
    pub(crate) quotas: Quotas,
    pub(crate) devices: Vec<Device>,
    pub(crate) fsas: Vec<Fsa>,
    pub(crate) programs: Vec<Program>,
    pub(crate) responses: Vec<DERControlResponse>,
    pub(crate) mirrors: Vec<MirrorUsagePoint>,
    /// The number of the next mirror usage point's href (`/mup/{n}`), never reused.
    pub(crate) next_mirror: usize,
    pub(crate) notifications: VecDeque<OutgoingNotification>,
    /// The latest server time seen (requests, refreshes, enrolments): when changes without a time of
    /// their own are rendered for subscribers.
    pub(crate) clock: i64,
    pub(crate) registration: RegistrationPolicy,
    /// Certificates (LFDIs) of aggregators: each manages the EndDevices of other LFDIs.
    pub(crate) aggregators: Vec<HexBinary160>,
    /// Certificates (LFDIs) whose access the operator revoked: they see and change nothing, and an
    /// aggregator no longer acts for a revoked device.
    pub(crate) revoked: Vec<HexBinary160>,
    next_mrid: u64,
}

/// How EndDevices come to exist on the server (CSIP-AUS: out-of-band or in-band registration).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RegistrationPolicy {
    /// Out of band: the operator enrols every device ([`Server::enrol`]). A `POST /edev` is refused: 409
    /// from a device already registered, 403 from one that is not.
    #[default]
    PreEnrolled,
    /// In band: a client whose certificate the TLS layer accepted (issued by a trusted CA) and that has no
    /// EndDevice yet registers itself with `POST /edev`, and gets these FunctionSetAssignments. Its
    /// Registration (the PIN) is served once the operator enrols it; until then it reads only what the
    /// assignments give it. At most [`Quotas::in_band_devices`] devices register this way.
    InBand {
        /// The FunctionSetAssignments a device registered in band gets.
        fsas: Vec<FsaId>,
    },
}

/// What the server keeps for one device, so that no device — however it is authenticated — can grow the
/// server's state without bound. A request past a quota is refused with 429; reading sets past theirs
/// replace the oldest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    /// Subscriptions a device holds at once (a deleted one frees its slot).
    pub subscriptions: usize,
    /// Mirror usage points a device posts.
    pub mirror_usage_points: usize,
    /// Mirror meter readings in one mirror usage point.
    pub meter_readings: usize,
    /// Reading sets kept per mirror meter reading (the oldest go first).
    pub reading_sets: usize,
    /// Responses a device posts about one event (received, started, completed, …: clause 10.10 has eleven
    /// statuses).
    pub responses_per_event: usize,
    /// EndDevices registered in band at most (the whole server's, not one device's: any client of the CA
    /// may register).
    pub in_band_devices: usize,
}

impl Default for Quotas {
    /// 16 subscriptions, 8 mirror usage points of 32 meter readings keeping 96 reading sets each, 16
    /// responses per event, 10,000 devices registered in band.
    fn default() -> Quotas {
        Quotas {
            subscriptions: 16,
            mirror_usage_points: 8,
            meter_readings: 32,
            reading_sets: 96,
            responses_per_event: 16,
            in_band_devices: 10_000,
        }
    }
}

/// The private enterprise number in the mRIDs this server makes (IANA PEN 0 is reserved; 37244 is the IEEE
/// 2030.5 example's — a deployment sets its own with [`Server::set_pen`]).
const DEFAULT_PEN: u32 = 37244;

impl Server {
    /// An empty server telling clients to poll every `poll_rate` seconds.
    pub fn new(poll_rate: u32) -> Self {
        Server {
            poll_rate,
            poll_rates: Vec::new(),
            post_rate: None,
            quotas: Quotas::default(),
            devices: Vec::new(),
            fsas: Vec::new(),
            programs: Vec::new(),
            responses: Vec::new(),
            mirrors: Vec::new(),
            next_mirror: 0,
            notifications: VecDeque::new(),
            clock: 0,
            registration: RegistrationPolicy::default(),
            aggregators: Vec::new(),
            revoked: Vec::new(),
            next_mrid: u64::from(DEFAULT_PEN),
        }
    }

    /// Sets what the server keeps per device.
    pub fn set_quotas(&mut self, quotas: Quotas) {
        self.quotas = quotas;
    }

    /// Sets how EndDevices come to exist (pre-enrolment by default).
    pub fn set_registration_policy(&mut self, policy: RegistrationPolicy) {
        self.registration = policy;
    }

    /// Sets the private enterprise number of the mRIDs the server makes from here on.
    pub fn set_pen(&mut self, pen: u32) {
        self.next_mrid = (self.next_mrid & !0xFFFF_FFFF) | u64::from(pen);
    }

    /// A fresh mRID: a counter in the high bytes, the PEN in the low four.
    fn mrid(&mut self) -> Mrid {
        self.next_mrid = self.next_mrid.wrapping_add(1 << 32);
        let mut high = [0u8; 12];
        for (slot, byte) in high
            .iter_mut()
            .skip(4)
            .zip((self.next_mrid >> 32).to_be_bytes())
        {
            *slot = byte;
        }
        Mrid::with_pen(
            high,
            u32::try_from(self.next_mrid & 0xFFFF_FFFF).unwrap_or(0),
        )
    }

    /// Registers the device whose certificate has `lfdi`, with the registration PIN it must confirm and the
    /// function set assignments it gets (a device registered in band is confirmed this way). Returns its
    /// EndDevice's href.
    pub fn enrol(&mut self, lfdi: HexBinary160, pin: u32, fsas: &[FsaId], now: i64) -> String {
        self.clock = self.clock.max(now);
        if let Some(i) = self.device_of(&lfdi) {
            if let Some(device) = self.devices.get_mut(i) {
                device.pin = Some(pin);
                device.in_band = false;
                device.fsas = fsas.to_vec();
                device.changed = now;
            }
            self.changed(&format!("/edev/{i}/fsa"));
            return format!("/edev/{i}");
        }
        self.devices.push(Device {
            lfdi,
            removed: false,
            aggregator: None,
            pin: Some(pin),
            in_band: false,
            registered: now,
            changed: now,
            fsas: fsas.to_vec(),
            subscriptions: Vec::new(),
            der: Default::default(),
        });
        self.changed("/edev");
        format!("/edev/{}", self.devices.len().saturating_sub(1))
    }

    /// Grants or revokes the access of the certificate with `lfdi` (a device's or an aggregator's). A
    /// revoked client's lists are empty and everything else is refused (403); its EndDevice, mirrors and
    /// responses stay, for the operator, and come back when access is granted again.
    pub fn set_access(&mut self, lfdi: HexBinary160, granted: bool) {
        self.revoked.retain(|r| *r != lfdi);
        if !granted {
            self.revoked.push(lfdi);
        }
    }

    /// Sets the `pollRate` the server tells its clients (seconds), for every resource (forgetting the rates
    /// set for one resource).
    pub fn set_poll_rate(&mut self, seconds: u32) {
        self.poll_rate = seconds;
        self.poll_rates.clear();
        for kind in Polled::ALL {
            self.changed_kind(kind);
        }
    }

    /// Sets the `pollRate` served in one kind of resource (CSIP-AUS lets a utility ask for, say, the
    /// EndDeviceList every 30 s and the DERProgramList every 5 minutes).
    pub fn set_poll_rate_of(&mut self, resource: Polled, seconds: u32) {
        self.poll_rates.retain(|(r, _)| *r != resource);
        self.poll_rates.push((resource, seconds));
        self.changed_kind(resource);
    }

    /// The `pollRate` served in `resource`.
    pub fn poll_rate_of(&self, resource: Polled) -> u32 {
        self.poll_rates
            .iter()
            .find(|(r, _)| *r == resource)
            .map_or(self.poll_rate, |(_, s)| *s)
    }

    /// Sets the FunctionSetAssignments of the enrolled device with `lfdi`; false if there is none.
    pub fn assign_fsas(&mut self, lfdi: &HexBinary160, fsas: &[FsaId], now: i64) -> bool {
        let Some(i) = self.device_of(lfdi) else {
            return false;
        };
        match self.devices.get_mut(i) {
            Some(d) => {
                d.fsas = fsas.to_vec();
                d.changed = now;
            }
            None => return false,
        }
        self.clock = self.clock.max(now);
        self.changed(&format!("/edev/{i}/fsa"));
        true
    }

    /// Declares the certificate with `lfdi` an aggregator's (CSIP-AUS): it may register EndDevices of
    /// other LFDIs (under the in-band policy) and act for the devices it manages.
    pub fn add_aggregator(&mut self, lfdi: HexBinary160) {
        if !self.aggregators.contains(&lfdi) {
            self.aggregators.push(lfdi);
        }
    }

    /// Puts the enrolled device with LFDI `device` under the aggregator `aggregator` (or under none):
    /// the aggregator then reads and writes for it everything the device itself may. False if there is no
    /// such device or `aggregator` was not declared with [`Server::add_aggregator`].
    pub fn assign_aggregator(
        &mut self,
        device: &HexBinary160,
        aggregator: Option<HexBinary160>,
    ) -> bool {
        if aggregator.is_some_and(|a| !self.aggregators.contains(&a)) {
            return false;
        }
        let Some(i) = self.device_of(device) else {
            return false;
        };
        match self.devices.get_mut(i) {
            Some(d) => d.aggregator = aggregator,
            None => return false,
        }
        self.changed("/edev");
        true
    }

    /// Adds a FunctionSetAssignments.
    pub fn add_fsa(&mut self, description: &str) -> FsaId {
        let mrid = self.mrid();
        self.fsas.push(Fsa {
            mrid,
            description: description.to_owned(),
            programs: Vec::new(),
        });
        FsaId(self.fsas.len().saturating_sub(1))
    }

    /// Adds a DER program to a FunctionSetAssignments (its mRID is made if zero; its links are set). Its
    /// `DefaultDERControl` exists from the start with no mode set (a client may discover and subscribe to
    /// it before the operator sets one with [`Server::set_default`]).
    pub fn add_program(&mut self, fsa: FsaId, mut program: DERProgram) -> ProgramIndex {
        let index = ProgramIndex(self.programs.len());
        if program.mrid == Mrid::default() {
            program.mrid = self.mrid();
        }
        let default = DefaultDERControl {
            href: Some(format!("/derp/{}/dderc", index.0)),
            subscribable: Some(1),
            mrid: self.mrid(),
            description: Some("no default control set".into()),
            ..Default::default()
        };
        self.programs.push(Program {
            program,
            controls: Vec::new(),
            default: Some(default),
        });
        if let Some(f) = self.fsas.get_mut(fsa.0) {
            f.programs.push(index);
        }
        self.changed(&format!("/fsa/{}/derp", fsa.0));
        index
    }

    /// Sets a program's `DefaultDERControl`.
    pub fn set_default(&mut self, program: ProgramIndex, mut default: DefaultDERControl) {
        if default.mrid == Mrid::default() {
            default.mrid = self.mrid();
        }
        if let Some(p) = self.programs.get_mut(program.0) {
            default.href = Some(format!("/derp/{}/dderc", program.0));
            default.subscribable = Some(1);
            p.default = Some(default);
        }
        self.changed(&format!("/derp/{}/dderc", program.0));
    }

    /// Publishes an event in a program: its mRID (made if zero), href, `replyTo` (this server's response
    /// list) and status are set by the server. Returns its href; subscribers to the list are notified.
    pub fn add_control(
        &mut self,
        program: ProgramIndex,
        mut control: DERControl,
        now: i64,
    ) -> Option<String> {
        if control.mrid == Mrid::default() {
            control.mrid = self.mrid();
        }
        let p = self.programs.get_mut(program.0)?;
        let href = format!("/derp/{}/derc/{}", program.0, p.controls.len());
        control.href = Some(href.clone());
        control.reply_to = Some("/rsps/0/rsp".to_owned());
        control.event_status.current_status = 0;
        control.event_status.date_time = now;
        p.controls.push(control);
        self.refresh(now);
        self.notify_controls(program);
        Some(href)
    }

    /// Cancels an event (`currentStatus` 2, or 3 with randomisation). Subscribers are notified.
    pub fn cancel_control(
        &mut self,
        program: ProgramIndex,
        mrid: &Mrid,
        randomized: bool,
        now: i64,
    ) -> bool {
        let Some(control) = self
            .programs
            .get_mut(program.0)
            .and_then(|p| p.controls.iter_mut().find(|c| c.mrid == *mrid))
        else {
            return false;
        };
        control.event_status.current_status = if randomized { 3 } else { 2 };
        control.event_status.date_time = now;
        self.notify_controls(program);
        true
    }

    /// Cancels the scheduled and active events of every program (`all`), or only the one created last;
    /// returns the mRIDs cancelled. Subscribers are notified.
    pub fn cancel_controls(&mut self, all: bool, randomized: bool, now: i64) -> Vec<Mrid> {
        self.refresh(now);
        let mut open: Vec<(ProgramIndex, i64, Mrid)> = self
            .programs
            .iter()
            .enumerate()
            .flat_map(|(k, p)| {
                p.controls
                    .iter()
                    .filter(|c| matches!(c.event_status.current_status, 0 | 1))
                    .map(move |c| (ProgramIndex(k), c.creation_time, c.mrid))
            })
            .collect();
        // Newest first: creation time, then mRID, as supersession orders them.
        open.sort_by_key(|&(_, created, mrid)| std::cmp::Reverse((created, mrid)));
        if !all {
            open.truncate(1);
        }
        open.into_iter()
            .filter(|(k, _, mrid)| self.cancel_control(*k, mrid, randomized, now))
            .map(|(_, _, mrid)| mrid)
            .collect()
    }

    /// Sets the `postRate` the server asks of mirror usage points (seconds); `None` leaves each as its
    /// device posted it.
    pub fn set_post_rate(&mut self, seconds: Option<u32>) {
        self.post_rate = seconds;
    }

    /// The responses clients have posted, in arrival order.
    pub fn responses(&self) -> &[DERControlResponse] {
        &self.responses
    }

    /// The mirror usage points clients have posted, with their readings.
    pub fn mirror_usage_points(&self) -> &[MirrorUsagePoint] {
        &self.mirrors
    }

    /// The next notification to deliver.
    pub fn poll_notification(&mut self) -> Option<OutgoingNotification> {
        self.notifications.pop_front()
    }

    /// Brings every event's status up to `now` (clause 12.1.3 and the `EventStatus` rules of the schema):
    /// scheduled events whose start has come become active; an event overlapped by a newer event of the same
    /// program on exactly the same modes and categories becomes superseded at the newer one's earliest
    /// effective start; a partial overlap of modes sets `potentiallySuperseded`.
    pub(crate) fn refresh(&mut self, now: i64) {
        self.clock = self.clock.max(now);
        for program in &mut self.programs {
            let facts: Vec<EventFacts> = program.controls.iter().map(EventFacts::of).collect();
            for (control, mine) in program.controls.iter_mut().zip(&facts) {
                let status = &mut control.event_status;
                if !matches!(status.current_status, 0 | 1) {
                    continue;
                }
                let mut superseded_at = None;
                for other in &facts {
                    let newer = (other.created, other.mrid) > (mine.created, mine.mrid);
                    let overlaps = other.earliest < mine.end && mine.start < other.end;
                    if !newer || !overlaps || !other.modes.intersects(mine.modes) {
                        continue;
                    }
                    if other.modes == mine.modes && other.category == mine.category {
                        let at = other.earliest.max(mine.start);
                        superseded_at = Some(superseded_at.map_or(at, |s: i64| s.min(at)));
                    } else if !status.potentially_superseded {
                        status.potentially_superseded = true;
                        status.potentially_superseded_time = Some(now);
                    }
                }
                // An event that has not started is superseded as soon as a newer one covering the same
                // modes overlaps it (it will never run); a running one at the newer one's start.
                if let Some(at) =
                    superseded_at.filter(|at| *at <= now || status.current_status == 0)
                {
                    status.current_status = 4;
                    status.date_time = at.min(now);
                } else if status.current_status == 0 && mine.start <= now {
                    status.current_status = 1;
                    status.date_time = mine.start;
                }
            }
        }
    }

    /// Queues a notification of `program`'s event list to every subscriber of it.
    fn notify_controls(&mut self, program: ProgramIndex) {
        self.changed(&format!("/derp/{}/derc", program.0));
    }

    /// A page of `program`'s event list in the standard's order: start time ascending, then creation time
    /// descending, then mRID descending.
    pub(crate) fn control_list(
        &self,
        program: ProgramIndex,
        start: usize,
        limit: usize,
    ) -> Option<DERControlList> {
        let p = self.programs.get(program.0)?;
        let mut controls: Vec<&DERControl> = p.controls.iter().filter(|c| self.listed(c)).collect();
        controls.sort_by(|a, b| {
            a.interval
                .start
                .cmp(&b.interval.start)
                .then(b.creation_time.cmp(&a.creation_time))
                .then(b.mrid.cmp(&a.mrid))
        });
        let all = u32::try_from(controls.len()).unwrap_or(u32::MAX);
        let page: Vec<DERControl> = controls
            .into_iter()
            .skip(start)
            .take(limit)
            .cloned()
            .collect();
        Some(DERControlList {
            href: Some(format!("/derp/{}/derc", program.0)),
            subscribable: Some(1),
            all,
            results: u32::try_from(page.len()).unwrap_or(u32::MAX),
            der_control: page,
            ..Default::default()
        })
    }

    /// Whether an event is still in its program's lists: until its end (start, duration and any positive
    /// randomisation) has passed — cancelled and superseded ones too, so that devices learn of it. An ended
    /// event stays readable at its own href and on record for its responses (CSIP-AUS: completed controls
    /// leave the list).
    pub(crate) fn listed(&self, c: &DERControl) -> bool {
        let late = i64::from(c.randomize_start.unwrap_or(0).max(0))
            .saturating_add(i64::from(c.randomize_duration.unwrap_or(0).max(0)));
        c.interval
            .start
            .saturating_add(i64::from(c.interval.duration))
            .saturating_add(late)
            > self.clock
    }

    /// The index of the device with this LFDI (not removed).
    pub(crate) fn device_of(&self, lfdi: &HexBinary160) -> Option<usize> {
        self.devices
            .iter()
            .position(|d| d.lfdi == *lfdi && !d.removed)
    }

    /// Removes the EndDevice with this LFDI (CSIP-AUS "ensure-end-device registered: false"): it is no
    /// longer served, its subscriptions end, its DER resources and mirrors go; its responses stay on
    /// record. False if there is no such device.
    pub fn remove_device(&mut self, lfdi: &HexBinary160) -> bool {
        let Some(i) = self.device_of(lfdi) else {
            return false;
        };
        if let Some(d) = self.devices.get_mut(i) {
            d.removed = true;
            d.fsas.clear();
            d.subscriptions.clear();
            d.der = Default::default();
            d.pin = None;
        }
        self.clear_mirrors(Some(lfdi));
        self.changed("/edev");
        true
    }

    /// Removes the mirror usage points of the device with this LFDI, or all of them (`None`); the others
    /// keep their hrefs. Returns how many went.
    pub fn clear_mirrors(&mut self, device: Option<&HexBinary160>) -> usize {
        let before = self.mirrors.len();
        self.mirrors
            .retain(|m| device.is_some_and(|d| m.device_lfdi != *d));
        before.saturating_sub(self.mirrors.len())
    }

    /// The SFDI of device `i`.
    pub(crate) fn sfdi_of(&self, i: usize) -> u64 {
        self.devices.get(i).map_or(0, |d| sfdi(&d.lfdi))
    }
}
