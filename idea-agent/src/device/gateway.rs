//! The meter's side of meter-to-cash (TE-04, UC-08): cumulative readings signed by the meter's avatar, and
//! the delivery tokens the TE node makes of them — checked to be this meter's, well formed and for energy
//! this gateway has read — signed back.

use crate::behaviour::TeSubmission;
use idea_proto::{SigningKey, Timestamp};
use te_contract::meter::{DeliveryToken, MeterReading};
use te_contract::{AvatarId, DeploymentId, Signed};

/// A meter's gateway to its TE node.
#[derive(Debug, Clone)]
pub struct MeterGateway {
    deployment: DeploymentId,
    meter: AvatarId,
    key: SigningKey,
    key_version: u32,
    /// The last sequence used.
    sequence: u64,
    /// The highest export and import read so far, Wh (a token claiming more was not read here).
    read: (i64, i64),
}

impl MeterGateway {
    /// The gateway of `meter` in `deployment`, signing with `key` (version `key_version` in the registry).
    pub fn new(
        deployment: DeploymentId,
        meter: AvatarId,
        key: SigningKey,
        key_version: u32,
    ) -> MeterGateway {
        MeterGateway {
            deployment,
            meter,
            key,
            key_version,
            sequence: 0,
            read: (0, 0),
        }
    }

    /// The meter's avatar.
    pub fn meter(&self) -> AvatarId {
        self.meter
    }

    /// A signed reading of the registers at `at`. Its sequence is the reading's time in milliseconds (or one
    /// more than the last, if the clock stood still), so it increases across restarts of the gateway too.
    pub fn reading(
        &mut self,
        at: Timestamp,
        import_wh: i64,
        export_wh: i64,
    ) -> crate::Result<TeSubmission> {
        let by_clock = u64::try_from(at.unix_ms()).unwrap_or(0);
        self.sequence = by_clock.max(self.sequence.saturating_add(1));
        self.read = (self.read.0.max(export_wh), self.read.1.max(import_wh));
        let mut signed = Signed::new(
            self.deployment.clone(),
            MeterReading {
                meter: self.meter,
                sequence: self.sequence,
                at,
                import_wh,
                export_wh,
            },
        );
        signed.sign(self.meter, self.key_version, &self.key)?;
        Ok(TeSubmission::MeterReading(Box::new(signed)))
    }

    /// Signs the tokens the node made of this meter's readings. A token of another meter, malformed, or
    /// claiming more energy in one interval than this gateway has ever read is refused with the reason.
    pub fn sign_token(&self, token: &DeliveryToken) -> crate::Result<TeSubmission> {
        if token.meter != self.meter {
            return Err(crate::Error::settings(
                "token",
                format!("a token of meter {}, not {}", token.meter, self.meter),
            ));
        }
        token.validate()?;
        if token.export_wh > self.read.0 || token.import_wh > self.read.1 {
            return Err(crate::Error::settings(
                "token",
                format!(
                    "{} Wh out and {} Wh in: more than this meter has read",
                    token.export_wh, token.import_wh
                ),
            ));
        }
        let mut signed = Signed::new(self.deployment.clone(), *token);
        signed.sign(self.meter, self.key_version, &self.key)?;
        Ok(TeSubmission::DeliveryToken(Box::new(signed)))
    }
}
