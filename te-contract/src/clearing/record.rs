//! A clearing run as the ledger records it (TE-05, TE-08): the canonical bytes of a [`ClearingReport`], and
//! the check a verifier makes of one ([`ClearingRecordKind`]) — that the money it moved is exactly the net of
//! the obligations it says it settled.
//!
//! Layout: the run's id (16 bytes), the period end, then counted lists — settled, carried, set aside (each
//! with its reason), positions (avatar, currency, i64), transfers (payer, receiver, money), gross and net per
//! currency (two 128-bit big-endian integers), and the avatars left out (avatar, currency). Maps and sets are
//! written in ascending order and read back only so, so each report has one encoding.

use super::{ClearingReport, Obligation, SetAside, Source};
use crate::codec::{Codec, Put, Reader};
use crate::error::{Error, Result};
use crate::id::{AvatarId, DebtId, DeploymentId};
use crate::ledger::{Entry, EntryKind, RecordKind};
use crate::registry::Registry;
use idea_proto::{Currency, Timestamp};
use std::collections::{BTreeMap, BTreeSet};

/// The most items in one list of a clearing record.
pub const MAX_RECORD_ITEMS: usize = 1 << 22;
/// The longest reason an obligation was set aside for, bytes.
pub const MAX_SET_ASIDE_REASON: usize = 1024;

/// The smallest encoded obligation: tag, source, two avatars, amount and the shortest currency.
const MIN_OBLIGATION: usize = 1 + 16 + 16 + 16 + 8 + 4 + 1;
/// The smallest encoded currency.
const MIN_CURRENCY: usize = 4 + 1;

const SOURCE_CHANNEL: u8 = 0;
const SOURCE_TRANSFER: u8 = 1;

impl Codec for Obligation {
    fn encode(&self, out: &mut Vec<u8>) {
        match self.source {
            Source::Channel(channel) => {
                out.push(SOURCE_CHANNEL);
                channel.encode(out);
            }
            Source::Transfer(debt) => {
                out.push(SOURCE_TRANSFER);
                debt.encode(out);
            }
        }
        self.from.encode(out);
        self.to.encode(out);
        out.put_money(self.amount);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let source = match r.u8("obligation.source")? {
            SOURCE_CHANNEL => Source::Channel(crate::ChannelId::read(r)?),
            SOURCE_TRANSFER => Source::Transfer(DebtId::read(r)?),
            other => {
                return Err(r.error(
                    "obligation.source",
                    format!("{other} is not a source (0 channel, 1 transfer)"),
                ));
            }
        };
        let from = AvatarId::read(r)?;
        let to = AvatarId::read(r)?;
        let amount = r.money("obligation.amount")?;
        if amount.minor_units <= 0 {
            return Err(r.error("obligation.amount", "an obligation is positive"));
        }
        if from == to {
            return Err(r.error("obligation.to", "an obligation is between two avatars"));
        }
        Ok(Obligation {
            source,
            from,
            to,
            amount,
        })
    }
}

fn put_obligations<'a>(out: &mut Vec<u8>, list: impl ExactSizeIterator<Item = &'a Obligation>) {
    out.put_len(list.len());
    for o in list {
        o.encode(out);
    }
}

fn read_obligations(r: &mut Reader<'_>, field: &'static str) -> Result<Vec<Obligation>> {
    let n = r.count(field, MAX_RECORD_ITEMS, MIN_OBLIGATION)?;
    (0..n).map(|_| Obligation::read(r)).collect()
}

fn put_i128(out: &mut Vec<u8>, v: i128) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn read_i128(r: &mut Reader<'_>, field: &'static str) -> Result<i128> {
    Ok(i128::from_be_bytes(r.array(field)?))
}

/// Inserts `key` after checking it comes after every key read so far (one encoding per report).
fn ascending<K: Ord + Copy>(
    r: &Reader<'_>,
    last: &mut Option<K>,
    key: K,
    field: &'static str,
) -> Result<()> {
    if last.is_some_and(|l| l >= key) {
        return Err(r.error(field, "not in ascending order"));
    }
    *last = Some(key);
    Ok(())
}

impl Codec for ClearingReport {
    fn encode(&self, out: &mut Vec<u8>) {
        self.id.encode(out);
        out.put_timestamp(self.period_end);
        put_obligations(out, self.settled.iter());
        put_obligations(out, self.carried.iter());
        out.put_len(self.set_aside.len());
        for s in &self.set_aside {
            s.obligation.encode(out);
            out.put_text(&s.reason);
        }
        out.put_len(self.positions.len());
        for ((avatar, currency), position) in &self.positions {
            avatar.encode(out);
            out.put_currency(*currency);
            out.put_i64(*position);
        }
        out.put_len(self.transfers.len());
        for (from, to, money) in &self.transfers {
            from.encode(out);
            to.encode(out);
            out.put_money(*money);
        }
        out.put_len(self.gross_and_net.len());
        for (currency, (gross, net)) in &self.gross_and_net {
            out.put_currency(*currency);
            put_i128(out, *gross);
            put_i128(out, *net);
        }
        out.put_len(self.left_out.len());
        for (avatar, currency) in &self.left_out {
            avatar.encode(out);
            out.put_currency(*currency);
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let id = DebtId::read(r)?;
        let period_end = r.timestamp("period_end")?;
        let settled = read_obligations(r, "settled")?;
        let carried = read_obligations(r, "carried")?;
        let n = r.count("set_aside", MAX_RECORD_ITEMS, MIN_OBLIGATION + 4)?;
        let mut set_aside = Vec::with_capacity(n);
        for _ in 0..n {
            let obligation = Obligation::read(r)?;
            let reason = r.text("set_aside.reason", MAX_SET_ASIDE_REASON)?.to_owned();
            set_aside.push(SetAside { obligation, reason });
        }
        let n = r.count("positions", MAX_RECORD_ITEMS, 16 + MIN_CURRENCY + 8)?;
        let mut positions = BTreeMap::new();
        let mut last = None;
        for _ in 0..n {
            let avatar = AvatarId::read(r)?;
            let currency = r.currency("positions.currency")?;
            ascending(r, &mut last, (avatar, currency), "positions")?;
            positions.insert((avatar, currency), r.i64("positions.position")?);
        }
        let n = r.count("transfers", MAX_RECORD_ITEMS, 32 + 8 + MIN_CURRENCY)?;
        let mut transfers = Vec::with_capacity(n);
        for _ in 0..n {
            let from = AvatarId::read(r)?;
            let to = AvatarId::read(r)?;
            transfers.push((from, to, r.money("transfers.amount")?));
        }
        let n = r.count("gross_and_net", MAX_RECORD_ITEMS, MIN_CURRENCY + 32)?;
        let mut gross_and_net = BTreeMap::new();
        let mut last = None;
        for _ in 0..n {
            let currency = r.currency("gross_and_net.currency")?;
            ascending(r, &mut last, currency, "gross_and_net")?;
            let gross = read_i128(r, "gross_and_net.gross")?;
            let net = read_i128(r, "gross_and_net.net")?;
            gross_and_net.insert(currency, (gross, net));
        }
        let n = r.count("left_out", MAX_RECORD_ITEMS, 16 + MIN_CURRENCY)?;
        let mut left_out = BTreeSet::new();
        let mut last = None;
        for _ in 0..n {
            let avatar = AvatarId::read(r)?;
            let currency = r.currency("left_out.currency")?;
            ascending(r, &mut last, (avatar, currency), "left_out")?;
            left_out.insert((avatar, currency));
        }
        Ok(ClearingReport {
            id,
            period_end,
            settled,
            carried,
            set_aside,
            positions,
            transfers,
            gross_and_net,
            left_out,
        })
    }
}

/// The id of the run that closes the period ending at `period_end`.
pub fn clearing_id(period_end: Timestamp) -> DebtId {
    DebtId::derive(&[b"clearing", &period_end.unix_ms().to_be_bytes()])
}

impl ClearingReport {
    /// The ledger entry recording this run, keyed by its id (a period clears once).
    pub fn ledger_entry(&self, at: Timestamp) -> Entry {
        Entry::record(RecordKind::Clearing, self.id.0, 0, at, self.to_bytes())
    }

    /// Checks that the report is one a run could have made: its id is its period's; each source appears
    /// once; per currency, the positions are the net of the settled obligations, the transfers move exactly
    /// those positions from payers to receivers, and gross and net are the sums of the obligations settled
    /// and of the transfers made.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the first inconsistency.
    pub fn check(&self) -> Result<()> {
        if self.id != clearing_id(self.period_end) {
            return Err(Error::invalid("id", "not the id of the period it closes"));
        }
        let mut sources = BTreeSet::new();
        let all = self
            .settled
            .iter()
            .chain(&self.carried)
            .chain(self.set_aside.iter().map(|s| &s.obligation));
        for o in all {
            if !sources.insert(o.source) {
                return Err(Error::invalid("settled", "a source appears twice"));
            }
        }
        let mut positions: BTreeMap<(AvatarId, Currency), i128> = BTreeMap::new();
        let mut gross: BTreeMap<Currency, i128> = BTreeMap::new();
        for o in &self.settled {
            let (amount, currency) = (i128::from(o.amount.minor_units), o.amount.currency);
            add(&mut positions, (o.from, currency), amount.saturating_neg());
            add(&mut positions, (o.to, currency), amount);
            add(&mut gross, currency, amount);
        }
        positions.retain(|_, p| *p != 0);
        let recorded: BTreeMap<(AvatarId, Currency), i128> = self
            .positions
            .iter()
            .map(|(k, p)| (*k, i128::from(*p)))
            .collect();
        if recorded != positions {
            return Err(Error::invalid(
                "positions",
                "not the net of the obligations settled",
            ));
        }
        let mut moved: BTreeMap<(AvatarId, Currency), i128> = BTreeMap::new();
        let mut net: BTreeMap<Currency, i128> = BTreeMap::new();
        for (from, to, money) in &self.transfers {
            let amount = i128::from(money.minor_units);
            if amount <= 0 || from == to {
                return Err(Error::invalid(
                    "transfers",
                    "a transfer is a positive amount between two avatars",
                ));
            }
            add(&mut moved, (*from, money.currency), amount.saturating_neg());
            add(&mut moved, (*to, money.currency), amount);
            add(&mut net, money.currency, amount);
        }
        moved.retain(|_, p| *p != 0);
        if moved != positions {
            return Err(Error::invalid(
                "transfers",
                "do not move exactly the net positions",
            ));
        }
        let sums: BTreeMap<Currency, (i128, i128)> = gross
            .into_iter()
            .map(|(c, g)| (c, (g, net.get(&c).copied().unwrap_or(0))))
            .collect();
        if sums != self.gross_and_net {
            return Err(Error::invalid(
                "gross_and_net",
                "not the sums of the obligations settled and the transfers made",
            ));
        }
        Ok(())
    }
}

/// Adds `amount` to the sum kept under `key` (sums of 64-bit amounts over bounded lists stay far inside 128
/// bits; saturating all the same).
fn add<K: Ord>(sums: &mut BTreeMap<K, i128>, key: K, amount: i128) {
    let sum = sums.entry(key).or_default();
    *sum = sum.saturating_add(amount);
}

/// The ledger's check of a clearing record: it decodes canonically and is consistent
/// ([`ClearingReport::check`]). The chain, and the operator's checkpoints over it, vouch that it was made.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClearingRecordKind;

impl EntryKind for ClearingRecordKind {
    fn code(&self) -> u16 {
        RecordKind::Clearing.code()
    }
    fn check(&self, entry: &Entry, _: &mut Registry, _: &DeploymentId) -> Result<u64> {
        let report = ClearingReport::decode_exact(&entry.body)?;
        if report.ledger_entry(entry.at).key != entry.key {
            return Err(Error::Ledger {
                seq: 0,
                fault: crate::LedgerFault::WrongKey,
            });
        }
        report.check()?;
        Ok(0)
    }
}
