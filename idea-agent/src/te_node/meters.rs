//! Meters that register themselves at a registrar node (TE-04, AUX-01 over the network): a meter's avatar
//! signs the readings money moves on, so open admission never lets one in — the registrar enrols each meter
//! beforehand ([`EnrolledMeter`]: its key, its id, the cell it measures, how it is read), and the meter's
//! gateway then registers the way an agent does ([`meter_registration_submission`]). Once registered, the node
//! reads it. Enrolled before a rebuild, a meter's registration replayed from the ledger makes the node read it
//! again, and its reading series comes back from the readings the ledger holds.

use super::{TeNode, avatar_of_key};
use idea_proto::{CellId, MeterId, PublicKey, SigningKey, Timestamp};
use te_contract::meter::MeterConfig;
use te_contract::registry::{AvatarKind, Registration};
use te_contract::{DeploymentId, Signed};

/// The most meters a registrar enrols.
pub const MAX_ENROLLED_METERS: usize = 1 << 16;

/// A meter the registrar lets register itself, and how the node reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolledMeter {
    /// The key its gateway signs with (its avatar is the one this key names).
    pub key: PublicKey,
    /// The meter's id.
    pub meter: MeterId,
    /// The cell at whose connection it measures.
    pub cell: CellId,
    /// How the node reads it.
    pub config: MeterConfig,
}

impl TeNode {
    /// Enrols a meter (a registrar node only): it may then register itself, and is read once registered.
    /// Enrol before [`TeNode::rebuild`] so that a rebuilt node reads its meters again.
    ///
    /// # Errors
    /// [`crate::Error::Settings`] on a node that is not a registrar, or beyond [`MAX_ENROLLED_METERS`].
    pub fn enrol_meter(&mut self, meter: EnrolledMeter) -> crate::Result<()> {
        let Some(registrar) = self.registrar.as_mut() else {
            return Err(crate::Error::settings(
                "meters",
                "only a registrar node enrols meters",
            ));
        };
        if registrar.meters.len() >= MAX_ENROLLED_METERS
            && !registrar.meters.contains_key(&meter.key.to_string())
        {
            return Err(crate::Error::settings(
                "meters",
                format!("{MAX_ENROLLED_METERS} meters enrolled already"),
            ));
        }
        registrar.meters.insert(meter.key.to_string(), meter);
        Ok(())
    }

    /// How many meters the node reads.
    pub fn meters_read(&self) -> usize {
        self.meters.len()
    }

    /// The enrolment a meter's registration matches — its key, id and cell — if any.
    pub(super) fn enrolment_of(&self, registration: &Registration) -> Option<&EnrolledMeter> {
        let AvatarKind::Meter { meter, cell } = &registration.kind else {
            return None;
        };
        self.registrar
            .as_ref()?
            .meters
            .get(&registration.key.to_string())
            .filter(|m| m.meter == *meter && m.cell == *cell)
    }

    /// Reads a meter just registered (live, or replayed), if it was enrolled.
    pub(super) fn read_enrolled(&mut self, registration: &Registration) {
        let Some(config) = self.enrolment_of(registration).map(|m| m.config) else {
            return;
        };
        if let Err(e) = self.add_meter(registration.avatar, config) {
            log::warn!("TE node: meter {}: {e}", registration.avatar);
        }
    }
}

/// The submission that registers the meter `meter` at `cell` — whose gateway signs with `key` — at the node
/// whose key is `registrar`, in `deployment`: the registration unsigned, and the meter's signature beside it.
/// Its avatar is the one `key` names.
pub fn meter_registration_submission(
    deployment: &DeploymentId,
    registrar: &PublicKey,
    meter: MeterId,
    cell: CellId,
    key: &SigningKey,
    now: Timestamp,
) -> crate::TeSubmission {
    let public = PublicKey::from(key);
    let registration = Registration {
        registrar: avatar_of_key(registrar),
        avatar: avatar_of_key(&public),
        kind: AvatarKind::Meter { meter, cell },
        key: public,
        at: now,
    };
    let unsigned = Signed::new(deployment.clone(), registration);
    let signature = idea_proto::EnvelopeSigner::sign_digest(key, &unsigned.digest());
    crate::TeSubmission::Register {
        registration: Box::new(unsigned),
        signature,
    }
}

/// One meter as the registrar's meters file (TOML `[[meter]]`) states it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MeterEntry {
    id: String,
    cell: String,
    /// The key its gateway signs with, 64 hex digits.
    key: String,
    max_power_w: i64,
    reading_interval_s: u64,
    #[serde(default = "default_period_s")]
    period_s: u32,
}

const fn default_period_s() -> u32 {
    900
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MetersFile {
    #[serde(default)]
    meter: Vec<MeterEntry>,
}

/// The meters a registrar enrols, from TOML: `[[meter]]` tables of `id`, `cell`, `key` (the gateway's
/// public key, 64 hex digits), `max_power_w`, `reading_interval_s` and `period_s` (the settlement period,
/// 900 unless given).
///
/// # Errors
/// [`crate::Error::Settings`] naming the meter and field that do not parse, or beyond
/// [`MAX_ENROLLED_METERS`].
pub fn meters_from_toml(text: &str) -> crate::Result<Vec<EnrolledMeter>> {
    let file: MetersFile = toml::from_str(text)
        .map_err(|e| crate::Error::settings("meter", e.message().to_owned()))?;
    if file.meter.len() > MAX_ENROLLED_METERS {
        return Err(crate::Error::settings(
            "meter",
            format!("at most {MAX_ENROLLED_METERS} meters"),
        ));
    }
    file.meter
        .into_iter()
        .map(|m| {
            let field = |what: &str, e: &dyn std::fmt::Display| {
                crate::Error::settings("meter", format!("{} {what}: {e}", m.id))
            };
            if m.max_power_w <= 0 || m.reading_interval_s == 0 || m.period_s == 0 {
                return Err(crate::Error::settings(
                    "meter",
                    format!(
                        "{}: max_power_w, reading_interval_s and period_s are positive",
                        m.id
                    ),
                ));
            }
            Ok(EnrolledMeter {
                key: m.key.parse().map_err(|e| field("key", &e))?,
                meter: MeterId::new(m.id.clone()).map_err(|e| field("id", &e))?,
                cell: CellId::new(m.cell.clone()).map_err(|e| field("cell", &e))?,
                config: MeterConfig {
                    max_power_w: m.max_power_w,
                    reading_interval: idea_proto::Duration::from_secs(m.reading_interval_s),
                    period_s: m.period_s,
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_meters_file_reads_and_a_bad_key_is_named() {
        let key = PublicKey::from(&SigningKey::from_bytes(&[3; 32]));
        let text = format!(
            "[[meter]]\nid = \"cell1.meter\"\ncell = \"cell-1\"\nkey = \"{key}\"\nmax_power_w = 25000\nreading_interval_s = 10\n"
        );
        let meters = meters_from_toml(&text).unwrap();
        assert_eq!(meters.len(), 1);
        assert_eq!(meters[0].key, key);
        assert_eq!(meters[0].config.period_s, 900);
        let bad = text.replace(&key.to_string(), "00");
        let e = meters_from_toml(&bad).unwrap_err().to_string();
        assert!(e.contains("cell1.meter key"), "{e}");
        let zero = text.replace("reading_interval_s = 10", "reading_interval_s = 0");
        assert!(meters_from_toml(&zero).is_err());
    }
}
