//! Wallets: integer balances in minor units, one per avatar and currency (TE-02).

use crate::error::{Error, Result};
use crate::id::AvatarId;
use idea_proto::{Currency, Money};
use std::collections::BTreeMap;

/// The balances of every avatar. Balances never go below zero and never overflow; a transfer either
/// happens whole or not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wallets {
    balances: BTreeMap<(AvatarId, Currency), i64>,
}

impl Wallets {
    /// No balances.
    pub fn new() -> Wallets {
        Wallets::default()
    }

    /// What `avatar` holds in `currency`.
    pub fn balance(&self, avatar: &AvatarId, currency: Currency) -> Money {
        Money::new(
            self.balances
                .get(&(*avatar, currency))
                .copied()
                .unwrap_or(0),
            currency,
        )
    }

    /// Pays money in from outside (a bank transfer): `amount` must not be negative.
    pub fn deposit(&mut self, avatar: AvatarId, amount: Money) -> Result<()> {
        if amount.minor_units < 0 {
            return Err(Error::invalid("amount", "a deposit cannot be negative"));
        }
        let balance = self.balances.entry((avatar, amount.currency)).or_insert(0);
        *balance = balance
            .checked_add(amount.minor_units)
            .ok_or(Error::Overflow("wallet deposit"))?;
        Ok(())
    }

    /// Pays money out (a withdrawal); refused beyond the balance.
    pub fn withdraw(&mut self, avatar: AvatarId, amount: Money) -> Result<()> {
        self.transfer_out(avatar, amount)
    }

    /// Moves `amount` from one wallet to another; refused if the payer holds less.
    pub fn transfer(&mut self, from: AvatarId, to: AvatarId, amount: Money) -> Result<()> {
        if from == to {
            return Err(Error::invalid("to", "a transfer needs two wallets"));
        }
        let received = self
            .balance(&to, amount.currency)
            .minor_units
            .checked_add(amount.minor_units)
            .ok_or(Error::Overflow("wallet transfer"))?;
        self.transfer_out(from, amount)?;
        self.balances.insert((to, amount.currency), received);
        Ok(())
    }

    fn transfer_out(&mut self, from: AvatarId, amount: Money) -> Result<()> {
        if amount.minor_units < 0 {
            return Err(Error::invalid("amount", "an amount cannot be negative"));
        }
        let balance = self.balance(&from, amount.currency);
        let left = balance
            .minor_units
            .checked_sub(amount.minor_units)
            .filter(|left| *left >= 0)
            .ok_or(Error::InsufficientFunds {
                avatar: from,
                balance,
                needed: amount,
            })?;
        self.balances.insert((from, amount.currency), left);
        Ok(())
    }

    /// The sum of all balances in `currency` (money is only moved, so this changes only by deposits and
    /// withdrawals).
    pub fn total(&self, currency: Currency) -> Result<Money> {
        self.balances
            .iter()
            .filter(|((_, c), _)| *c == currency)
            .try_fold(0i64, |sum, (_, v)| sum.checked_add(*v))
            .map(|m| Money::new(m, currency))
            .ok_or(Error::Overflow("wallet total"))
    }

    /// Every balance, in avatar then currency order.
    pub fn iter(&self) -> impl Iterator<Item = (AvatarId, Money)> + '_ {
        self.balances
            .iter()
            .map(|((a, c), v)| (*a, Money::new(*v, *c)))
    }
}
