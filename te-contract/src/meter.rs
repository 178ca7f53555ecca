//! Meter-to-cash, first half: meter readings signed by the meter's key, validated per meter, and turned into
//! tokens of delivered energy per settlement interval (TE-03, TE-09).
//!
//! A token settles only when the meter's avatar signed it ([`Signed<DeliveryToken>`], kind
//! [`MessageKind::DeliveryToken`]): the meter's agent runs a [`MeterSeries`] over its own signed readings and
//! signs each token it yields, so no one without the meter's key can make a token that settles, and the
//! settlement record keeps the signed token as its evidence.
//!
//! Validation: each meter's readings come with a strictly increasing sequence number and time; registers
//! never go down; the energy between two readings must be possible at the meter's rated power. A register
//! value at an interval boundary is the reading at that instant or the straight line between the readings
//! around it: measured when those readings are at most the meter's reading interval apart, estimated (and
//! marked so) when up to 2 hours apart, and left open when further apart — the interval then gets no token
//! until a reading closes the gap.

use crate::codec::{Codec, Put, Reader};
use crate::error::{Error, Result};
use crate::id::{AvatarId, DeploymentId};
use crate::signed::{Body, KeyResolver, MessageKind, Signed};
use idea_proto::{Duration, Timestamp};
use std::collections::BTreeMap;

/// The longest gap straight-line interpolation fills.
pub const MAX_INTERPOLATION_GAP: Duration = Duration::from_mins(120);

/// A meter's cumulative registers at one instant, signed by the meter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterReading {
    /// The meter's avatar.
    pub meter: AvatarId,
    /// Strictly increasing per meter (the signature's counter: a reading is never replayed as another).
    pub sequence: u64,
    /// When the registers were read.
    pub at: Timestamp,
    /// Energy that has ever flowed into the cell, Wh.
    pub import_wh: i64,
    /// Energy that has ever flowed out of the cell, Wh.
    pub export_wh: i64,
}

impl Codec for MeterReading {
    fn encode(&self, out: &mut Vec<u8>) {
        self.meter.encode(out);
        out.put_u64(self.sequence);
        out.put_timestamp(self.at);
        out.put_i64(self.import_wh);
        out.put_i64(self.export_wh);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let reading = MeterReading {
            meter: AvatarId::read(r)?,
            sequence: r.u64("sequence")?,
            at: r.timestamp("at")?,
            import_wh: r.i64("import_wh")?,
            export_wh: r.i64("export_wh")?,
        };
        if reading.import_wh < 0 || reading.export_wh < 0 {
            return Err(r.error("register", "a register cannot be negative"));
        }
        Ok(reading)
    }
}

impl Body for MeterReading {
    const KIND: MessageKind = MessageKind::MeterReading;
    fn scope(&self) -> [u8; 16] {
        self.meter.0
    }
    fn counter(&self) -> u64 {
        self.sequence
    }
    fn signers(&self) -> Vec<AvatarId> {
        vec![self.meter]
    }
}

/// What the platform knows about a meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeterConfig {
    /// The most power that can flow through it, W: faster-growing registers are implausible.
    pub max_power_w: i64,
    /// How often it reports; a boundary between readings this close is measured, not estimated.
    pub reading_interval: Duration,
    /// The settlement period, seconds (divides a day).
    pub period_s: u32,
}

/// Energy delivered through one meter in one settlement interval: the unit meter-to-cash settles on.
///
/// Tokens are made by [`MeterSeries`] from readings the meter's avatar signed, and settle only signed by that
/// avatar ([`Signed<DeliveryToken>`]; the signature's scope is the meter and its counter the interval's
/// start, so a signature over one interval is never one over another). Their id is derived from the
/// meter and the interval's start ([`DeliveryToken::id_for`]), and a token whose id is not, whose interval
/// is empty or whose energy is negative is refused wherever it is read or settled
/// ([`DeliveryToken::validate`]): one meter's interval is counted once whatever id someone gives it, and no
/// token moves money backwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryToken {
    /// Unique per meter and interval.
    pub id: [u8; 16],
    /// The meter.
    pub meter: AvatarId,
    /// The interval's start.
    pub start: Timestamp,
    /// Its length, seconds.
    pub period_s: u32,
    /// Energy into the cell in the interval, Wh.
    pub import_wh: i64,
    /// Energy out of the cell in the interval, Wh.
    pub export_wh: i64,
    /// Whether either boundary was interpolated across a missing reading.
    pub estimated: bool,
}

impl DeliveryToken {
    /// A token for `meter`'s interval starting at `start`, its id derived from both; validated.
    pub fn new(
        meter: AvatarId,
        start: Timestamp,
        period_s: u32,
        import_wh: i64,
        export_wh: i64,
        estimated: bool,
    ) -> Result<DeliveryToken> {
        let token = DeliveryToken {
            id: DeliveryToken::id_for(&meter, start),
            meter,
            start,
            period_s,
            import_wh,
            export_wh,
            estimated,
        };
        token.validate()?;
        Ok(token)
    }

    /// The id of `meter`'s token for the interval starting at `start`.
    pub fn id_for(meter: &AvatarId, start: Timestamp) -> [u8; 16] {
        crate::id::DebtId::derive(&[b"token", meter.as_bytes(), &start.unix_ms().to_be_bytes()]).0
    }

    /// Refuses a token whose id is not derived from its meter and interval, whose interval is empty, or
    /// whose energy is negative.
    pub fn validate(&self) -> Result<()> {
        if self.id != DeliveryToken::id_for(&self.meter, self.start) {
            return Err(Error::invalid(
                "token",
                format!(
                    "id {} is not derived from meter {} and interval {}",
                    crate::hex(&self.id),
                    self.meter,
                    self.start
                ),
            ));
        }
        if self.period_s == 0 || self.import_wh < 0 || self.export_wh < 0 {
            return Err(Error::invalid(
                "token",
                "an empty interval or a negative energy",
            ));
        }
        Ok(())
    }
}

/// Layout: id (16 bytes), meter (16), start (timestamp), period (u32), import and export (i64), estimated
/// (0 or 1). Decoding validates the token ([`DeliveryToken::validate`]).
impl Codec for DeliveryToken {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id);
        self.meter.encode(out);
        out.put_timestamp(self.start);
        out.put_u32(self.period_s);
        out.put_i64(self.import_wh);
        out.put_i64(self.export_wh);
        out.put_bool(self.estimated);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let token = DeliveryToken {
            id: r.array("token.id")?,
            meter: AvatarId::read(r)?,
            start: r.timestamp("token.start")?,
            period_s: r.u32("token.period_s")?,
            import_wh: r.i64("token.import_wh")?,
            export_wh: r.i64("token.export_wh")?,
            estimated: r.bool("token.estimated")?,
        };
        if token.period_s == 0 || token.import_wh < 0 || token.export_wh < 0 {
            return Err(r.error("token", "an empty interval or a negative energy"));
        }
        if token.id != DeliveryToken::id_for(&token.meter, token.start) {
            return Err(r.error(
                "token.id",
                "not derived from the token's meter and interval",
            ));
        }
        Ok(token)
    }
}

/// Signed by the meter alone; scope: the meter; counter: the interval's start, milliseconds since 1970 (0
/// before).
impl Body for DeliveryToken {
    const KIND: MessageKind = MessageKind::DeliveryToken;
    fn scope(&self) -> [u8; 16] {
        self.meter.0
    }
    fn counter(&self) -> u64 {
        u64::try_from(self.start.unix_ms()).unwrap_or(0)
    }
    fn signers(&self) -> Vec<AvatarId> {
        vec![self.meter]
    }
}

/// A register value at an interval boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Boundary {
    import_wh: i64,
    export_wh: i64,
    estimated: bool,
}

/// The validated readings of one meter and the tokens made from them.
#[derive(Debug, Clone)]
pub struct MeterSeries {
    deployment: DeploymentId,
    meter: AvatarId,
    config: MeterConfig,
    /// Accepted readings by time (the latest few are enough to make tokens; older ones are pruned once
    /// their intervals have tokens).
    readings: BTreeMap<Timestamp, MeterReading>,
    last_sequence: Option<u64>,
    /// Start of the first interval without a token.
    next_interval: Option<Timestamp>,
}

impl MeterSeries {
    /// An empty series for `meter`.
    pub fn new(
        deployment: DeploymentId,
        meter: AvatarId,
        config: MeterConfig,
    ) -> Result<MeterSeries> {
        if config.period_s == 0 || !86_400u32.is_multiple_of(config.period_s) {
            return Err(Error::invalid("period_s", "does not divide a day"));
        }
        if config.max_power_w <= 0 {
            return Err(Error::invalid("max_power_w", "must be positive"));
        }
        Ok(MeterSeries {
            deployment,
            meter,
            config,
            readings: BTreeMap::new(),
            last_sequence: None,
            next_interval: None,
        })
    }

    fn period(&self) -> Duration {
        Duration::from_secs(u64::from(self.config.period_s))
    }

    /// Takes a reading signed by the meter (key valid at `now`) and returns the tokens of every interval it
    /// completes, for the meter's avatar to sign ([`Signed::sign`]) before they are settled. Refused: another
    /// meter's reading, a bad signature, a sequence number or time not after the last, a register that went
    /// down, energy faster than the rated power.
    pub fn accept(
        &mut self,
        signed: &Signed<MeterReading>,
        keys: &impl KeyResolver,
        now: Timestamp,
    ) -> Result<Vec<DeliveryToken>> {
        let r = signed.body();
        if r.meter != self.meter {
            return Err(Error::invalid(
                "meter",
                format!("{} is not this series' meter", r.meter),
            ));
        }
        signed.verify(keys, &self.deployment, now)?;
        if self.last_sequence.is_some_and(|s| r.sequence <= s) {
            return Err(Error::Duplicate {
                what: "meter reading",
                id: format!("{} #{}", r.meter, r.sequence),
            });
        }
        if let Some((_, last)) = self.readings.last_key_value() {
            if r.at <= last.at {
                return Err(Error::invalid("at", "readings arrive in time order"));
            }
            if r.import_wh < last.import_wh || r.export_wh < last.export_wh {
                return Err(Error::invalid("register", "a register went down"));
            }
            self.plausible(last, r)?;
        }
        self.last_sequence = Some(r.sequence);
        self.readings.insert(r.at, r.clone());
        if self.next_interval.is_none() {
            let first = r.at.floor_to(self.period());
            self.next_interval = Some(if first == r.at {
                first
            } else {
                first.checked_add(self.period())?
            });
        }
        self.tokens()
    }

    /// Refuses energy that grew faster than the rated power allows between two readings.
    fn plausible(&self, last: &MeterReading, next: &MeterReading) -> Result<()> {
        let ms = i128::from(next.at.unix_ms()).saturating_sub(i128::from(last.at.unix_ms()));
        let limit = i128::from(self.config.max_power_w).saturating_mul(ms) / 3_600_000;
        for (a, b, register) in [
            (last.import_wh, next.import_wh, "import_wh"),
            (last.export_wh, next.export_wh, "export_wh"),
        ] {
            let grew = i128::from(b).saturating_sub(i128::from(a));
            if grew > limit.saturating_add(1) {
                return Err(Error::invalid(
                    register,
                    format!(
                        "{grew} Wh in {} s is more than the meter's {} W allow",
                        ms / 1000,
                        self.config.max_power_w
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Makes the tokens of every interval both of whose boundaries are known.
    fn tokens(&mut self) -> Result<Vec<DeliveryToken>> {
        let mut out = Vec::new();
        while let Some(start) = self.next_interval {
            let end = start.checked_add(self.period())?;
            let (a, b) = (self.boundary(start), self.boundary(end));
            let (Some(a), Some(b)) = (a, b) else {
                // A boundary is unknown: wait for the next reading, or — if a reading after it already shows
                // a gap longer than interpolation fills — leave the intervals the gap spans open.
                let missing = if a.is_none() { start } else { end };
                match self.resume_after_gap(missing) {
                    Some(resume) if resume > start => {
                        self.next_interval = Some(resume);
                        continue;
                    }
                    _ => break,
                }
            };
            out.push(DeliveryToken {
                id: DeliveryToken::id_for(&self.meter, start),
                meter: self.meter,
                start,
                period_s: self.config.period_s,
                import_wh: b.import_wh.saturating_sub(a.import_wh),
                export_wh: b.export_wh.saturating_sub(a.export_wh),
                estimated: a.estimated || b.estimated,
            });
            self.next_interval = Some(end);
        }
        self.prune();
        Ok(out)
    }

    /// The register values at `t`: a reading at `t`, or the straight line between the readings around it
    /// when they are at most [`MAX_INTERPOLATION_GAP`] apart.
    fn boundary(&self, t: Timestamp) -> Option<Boundary> {
        if let Some(r) = self.readings.get(&t) {
            return Some(Boundary {
                import_wh: r.import_wh,
                export_wh: r.export_wh,
                estimated: false,
            });
        }
        let (_, before) = self.readings.range(..t).next_back()?;
        let (_, after) = self.readings.range(t..).next()?;
        let gap = after.at.duration_since(before.at)?;
        if gap > MAX_INTERPOLATION_GAP {
            return None;
        }
        let line = |a: i64, b: i64| -> Option<i64> {
            let span =
                i128::from(after.at.unix_ms()).checked_sub(i128::from(before.at.unix_ms()))?;
            let part = i128::from(t.unix_ms()).checked_sub(i128::from(before.at.unix_ms()))?;
            let grew = i128::from(b).checked_sub(i128::from(a))?;
            let value = i128::from(a).checked_add(grew.checked_mul(part)?.checked_div(span)?)?;
            i64::try_from(value).ok()
        };
        Some(Boundary {
            import_wh: line(before.import_wh, after.import_wh)?,
            export_wh: line(before.export_wh, after.export_wh)?,
            estimated: gap > self.config.reading_interval,
        })
    }

    /// When a reading after boundary `t` exists (so `t` lies in a gap interpolation does not fill): the first
    /// interval boundary at or after that reading.
    fn resume_after_gap(&self, t: Timestamp) -> Option<Timestamp> {
        let (_, after) = self
            .readings
            .range((std::ops::Bound::Excluded(t), std::ops::Bound::Unbounded))
            .next()?;
        let floor = after.at.floor_to(self.period());
        if floor == after.at {
            Some(floor)
        } else {
            floor.checked_add(self.period()).ok()
        }
    }

    /// Drops readings no future boundary needs (all but the last one before the next interval).
    fn prune(&mut self) {
        let Some(next) = self.next_interval else {
            return;
        };
        let keep_from = self.readings.range(..=next).next_back().map(|(t, _)| *t);
        if let Some(keep_from) = keep_from {
            self.readings = self.readings.split_off(&keep_from);
        }
    }

    /// The start of the first interval still waiting for its token.
    pub fn next_interval(&self) -> Option<Timestamp> {
        self.next_interval
    }
}
