//! The signed objects of a debt payment channel: its opening, its states and its cooperative close.

use crate::codec::{Codec, Put, Reader};
use crate::error::{Error, Result};
use crate::id::{AvatarId, ChannelId, DebtId};
use crate::signed::{Body, MessageKind};
use idea_proto::{Currency, Duration, Money, Timestamp, TransactionId};

/// The most debts and payments one state update adds.
pub const MAX_ENTRIES_PER_UPDATE: usize = 4096;

/// One of the two sides of a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Party {
    /// The avatar that opened the channel.
    A,
    /// The other avatar.
    B,
}

impl Party {
    /// The other side.
    pub fn other(self) -> Party {
        match self {
            Party::A => Party::B,
            Party::B => Party::A,
        }
    }

    fn read(r: &mut Reader<'_>, field: &'static str) -> Result<Party> {
        let at = r.offset();
        match r.u8(field)? {
            0 => Ok(Party::A),
            1 => Ok(Party::B),
            other => Err(Error::Decode {
                offset: at,
                field,
                reason: format!("{other} is not a party (0 or 1)"),
            }),
        }
    }

    fn put(self, out: &mut Vec<u8>) {
        out.push(match self {
            Party::A => 0,
            Party::B => 1,
        });
    }
}

/// Opens a channel between `a` and `b` in one currency; signed by both (a first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelOpen {
    /// The channel.
    pub channel: ChannelId,
    /// Side A.
    pub a: AvatarId,
    /// Side B.
    pub b: AvatarId,
    /// The currency of its debts.
    pub currency: Currency,
    /// The most either side may be owed, in minor units, counting debts it proposed that the other has
    /// not countersigned yet.
    pub credit_limit: i64,
    /// How long a one-sided close waits for a newer state.
    pub challenge_period: Duration,
    /// When it opens.
    pub opened_at: Timestamp,
}

impl ChannelOpen {
    /// The avatar on `party`'s side.
    pub fn avatar(&self, party: Party) -> AvatarId {
        match party {
            Party::A => self.a,
            Party::B => self.b,
        }
    }

    /// The side `avatar` is on.
    pub fn party_of(&self, avatar: &AvatarId) -> Option<Party> {
        if *avatar == self.a {
            Some(Party::A)
        } else if *avatar == self.b {
            Some(Party::B)
        } else {
            None
        }
    }

    /// The credit limit as money.
    pub fn limit(&self) -> Money {
        Money::new(self.credit_limit, self.currency)
    }
}

impl Codec for ChannelOpen {
    fn encode(&self, out: &mut Vec<u8>) {
        self.channel.encode(out);
        self.a.encode(out);
        self.b.encode(out);
        out.put_currency(self.currency);
        out.put_i64(self.credit_limit);
        out.put_u64(self.challenge_period.as_ms());
        out.put_timestamp(self.opened_at);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let open = ChannelOpen {
            channel: ChannelId::read(r)?,
            a: AvatarId::read(r)?,
            b: AvatarId::read(r)?,
            currency: r.currency("currency")?,
            credit_limit: r.i64("credit_limit")?,
            challenge_period: Duration::from_ms(r.u64("challenge_period")?),
            opened_at: r.timestamp("opened_at")?,
        };
        if open.a == open.b {
            return Err(r.error("b", "a channel needs two avatars"));
        }
        if open.credit_limit < 0 {
            return Err(r.error("credit_limit", "cannot be negative"));
        }
        Ok(open)
    }
}

impl Body for ChannelOpen {
    const KIND: MessageKind = MessageKind::ChannelOpen;
    fn scope(&self) -> [u8; 16] {
        self.channel.0
    }
    fn signers(&self) -> Vec<AvatarId> {
        vec![self.a, self.b]
    }
}

/// One delivered quantity turned into money owed: an IOU of `debtor` to the other side.
#[derive(Debug, Clone, PartialEq, Eq)]
#[doc(alias = "IOU")]
pub struct Debt {
    /// Unique within the channel, for ever.
    pub id: DebtId,
    /// Who owes.
    pub debtor: Party,
    /// How much, in minor units (> 0).
    pub amount: i64,
    /// The contract it settles.
    pub contract: TransactionId,
    /// The settlement interval of the contract.
    pub interval: u32,
    /// The meter token of delivered energy it rests on, if any (each token is counted once).
    pub token: Option<[u8; 16]>,
}

/// A payment out of a wallet (made at clearing) that reduces what `payer` owes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// Unique within the channel, for ever (the clearing run's id).
    pub id: DebtId,
    /// Who paid.
    pub payer: Party,
    /// How much, in minor units (> 0).
    pub amount: i64,
}

/// A channel state: what each side owes in total and what it has paid in total (all four only grow), and
/// the debts and payments this state adds to the previous one. It counts only when both sides have signed
/// it: the side that proposes it first, then the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelState {
    /// The channel.
    pub channel: ChannelId,
    /// Strictly increasing; 0 is the empty state every channel starts from.
    pub counter: u64,
    /// Who proposed it (signs first).
    pub proposer: Party,
    /// The proposer's avatar (so the signer list does not depend on outside knowledge).
    pub proposer_avatar: AvatarId,
    /// The other side's avatar.
    pub acceptor_avatar: AvatarId,
    /// Everything A has ever owed, in minor units.
    pub owed_by_a: i64,
    /// Everything B has ever owed.
    pub owed_by_b: i64,
    /// Everything A has ever paid.
    pub paid_by_a: i64,
    /// Everything B has ever paid.
    pub paid_by_b: i64,
    /// The debts added since the previous state.
    pub debts: Vec<Debt>,
    /// The payments added since the previous state.
    pub payments: Vec<Payment>,
}

impl ChannelState {
    /// What A owes B now, net of B's debts and both sides' payments (negative: B owes A).
    pub fn net_owed_by_a(&self) -> Result<i64> {
        let a = self.owed_by_a.checked_sub(self.paid_by_a);
        let b = self.owed_by_b.checked_sub(self.paid_by_b);
        a.zip(b)
            .and_then(|(a, b)| a.checked_sub(b))
            .ok_or(Error::Overflow("channel net"))
    }

    /// What `party` is owed now, net (negative: it owes).
    pub fn owed_to(&self, party: Party) -> Result<i64> {
        let net = self.net_owed_by_a()?;
        match party {
            Party::B => Ok(net),
            Party::A => net.checked_neg().ok_or(Error::Overflow("channel net")),
        }
    }
}

impl Codec for ChannelState {
    fn encode(&self, out: &mut Vec<u8>) {
        self.channel.encode(out);
        out.put_u64(self.counter);
        self.proposer.put(out);
        self.proposer_avatar.encode(out);
        self.acceptor_avatar.encode(out);
        for v in [
            self.owed_by_a,
            self.owed_by_b,
            self.paid_by_a,
            self.paid_by_b,
        ] {
            out.put_i64(v);
        }
        out.put_len(self.debts.len());
        for d in &self.debts {
            d.id.encode(out);
            d.debtor.put(out);
            out.put_i64(d.amount);
            out.extend_from_slice(d.contract.as_bytes());
            out.put_u32(d.interval);
            match &d.token {
                Some(token) => {
                    out.push(1);
                    out.extend_from_slice(token);
                }
                None => out.push(0),
            }
        }
        out.put_len(self.payments.len());
        for p in &self.payments {
            p.id.encode(out);
            p.payer.put(out);
            out.put_i64(p.amount);
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let channel = ChannelId::read(r)?;
        let counter = r.u64("counter")?;
        let proposer = Party::read(r, "proposer")?;
        let proposer_avatar = AvatarId::read(r)?;
        let acceptor_avatar = AvatarId::read(r)?;
        let mut totals = [0i64; 4];
        for (total, field) in
            totals
                .iter_mut()
                .zip(["owed_by_a", "owed_by_b", "paid_by_a", "paid_by_b"])
        {
            *total = r.i64(field)?;
            if *total < 0 {
                return Err(r.error(field, "a total cannot be negative"));
            }
        }
        let [owed_by_a, owed_by_b, paid_by_a, paid_by_b] = totals;
        let n = r.count("debts", MAX_ENTRIES_PER_UPDATE, 46)?;
        let mut debts = Vec::with_capacity(n);
        for _ in 0..n {
            let id = DebtId::read(r)?;
            let debtor = Party::read(r, "debt.debtor")?;
            let amount = r.i64("debt.amount")?;
            let contract = TransactionId::from_bytes(r.array("debt.contract")?);
            let interval = r.u32("debt.interval")?;
            let token = match r.u8("debt.token")? {
                0 => None,
                1 => Some(r.array("debt.token")?),
                _ => return Err(r.error("debt.token", "flag is not 0 or 1")),
            };
            if amount <= 0 {
                return Err(r.error("debt.amount", "a debt is positive"));
            }
            debts.push(Debt {
                id,
                debtor,
                amount,
                contract,
                interval,
                token,
            });
        }
        let n = r.count("payments", MAX_ENTRIES_PER_UPDATE, 25)?;
        let mut payments = Vec::with_capacity(n);
        for _ in 0..n {
            let id = DebtId::read(r)?;
            let payer = Party::read(r, "payment.payer")?;
            let amount = r.i64("payment.amount")?;
            if amount <= 0 {
                return Err(r.error("payment.amount", "a payment is positive"));
            }
            payments.push(Payment { id, payer, amount });
        }
        if proposer_avatar == acceptor_avatar {
            return Err(r.error("acceptor_avatar", "a state needs two signers"));
        }
        Ok(ChannelState {
            channel,
            counter,
            proposer,
            proposer_avatar,
            acceptor_avatar,
            owed_by_a,
            owed_by_b,
            paid_by_a,
            paid_by_b,
            debts,
            payments,
        })
    }
}

impl Body for ChannelState {
    const KIND: MessageKind = MessageKind::ChannelState;
    fn scope(&self) -> [u8; 16] {
        self.channel.0
    }
    fn counter(&self) -> u64 {
        self.counter
    }
    fn signers(&self) -> Vec<AvatarId> {
        vec![self.proposer_avatar, self.acceptor_avatar]
    }
}

/// Both sides agree to close at a state: the net is paid at once. Signed by the side that asks, then the
/// other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelClose {
    /// The channel.
    pub channel: ChannelId,
    /// The avatar that asks to close (signs first).
    pub closer: AvatarId,
    /// The other avatar.
    pub other: AvatarId,
    /// The counter of the final state.
    pub counter: u64,
    /// What A owes B at that state, net (negative: B owes A).
    pub net_owed_by_a: i64,
}

impl Codec for ChannelClose {
    fn encode(&self, out: &mut Vec<u8>) {
        self.channel.encode(out);
        self.closer.encode(out);
        self.other.encode(out);
        out.put_u64(self.counter);
        out.put_i64(self.net_owed_by_a);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(ChannelClose {
            channel: ChannelId::read(r)?,
            closer: AvatarId::read(r)?,
            other: AvatarId::read(r)?,
            counter: r.u64("counter")?,
            net_owed_by_a: r.i64("net_owed_by_a")?,
        })
    }
}

impl Body for ChannelClose {
    const KIND: MessageKind = MessageKind::ChannelClose;
    fn scope(&self) -> [u8; 16] {
        self.channel.0
    }
    fn counter(&self) -> u64 {
        self.counter
    }
    fn signers(&self) -> Vec<AvatarId> {
        vec![self.closer, self.other]
    }
}

/// One side asks the adjudicator to close a channel at the state it brings (counter 0: the empty state):
/// signed by that side alone, so nobody else can start a close in its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseRequest {
    /// The channel.
    pub channel: ChannelId,
    /// The side that asks.
    pub by: AvatarId,
    /// The counter of the state brought (0: none, the empty state).
    pub counter: u64,
    /// When it was asked; a request is valid for the channel's challenge period after it.
    pub at: Timestamp,
}

impl Codec for CloseRequest {
    fn encode(&self, out: &mut Vec<u8>) {
        self.channel.encode(out);
        self.by.encode(out);
        out.put_u64(self.counter);
        out.put_timestamp(self.at);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(CloseRequest {
            channel: ChannelId::read(r)?,
            by: AvatarId::read(r)?,
            counter: r.u64("counter")?,
            at: r.timestamp("at")?,
        })
    }
}

impl Body for CloseRequest {
    const KIND: MessageKind = MessageKind::ChannelCloseRequest;
    fn scope(&self) -> [u8; 16] {
        self.channel.0
    }
    fn counter(&self) -> u64 {
        self.counter
    }
    fn signers(&self) -> Vec<AvatarId> {
        vec![self.by]
    }
}
