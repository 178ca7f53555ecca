//! The IEEE 2030.5 side of the device link: a DER (an inverter, Table 3: the power supply regulator of a
//! generator cell) managed through a 2030.5 server the process serves. Each setpoint becomes a `DERControl`
//! event (IEEE 2030.5-2018 clause 10.10) in the DER's program: `opModMaxLimW` caps the inverter's active power
//! at the setpoint's export for the setpoint's interval. The DER's client finds it on its next poll, schedules
//! it (a later event for the same time supersedes an earlier one) and posts its responses to the server.
//!
//! The cap holds the export exactly only when nothing else behind the connection meter consumes: a load on
//! the same bus takes its share of the inverter's output first.

use idea_proto::{SetpointCommand, Timestamp};
use ieee2030_5::primitives::HexBinary;
use ieee2030_5::resources::{DERControl, DERControlBase, DateTimeInterval};
use ieee2030_5::server::{ProgramIndex, Server};
use std::sync::{Arc, Mutex};

/// `responseRequired`: the DER acknowledges receipt and reports the event's start and end (clause 10.10).
const RESPONSES: u8 = 0x03;
/// `opModMaxLimW` is in hundredths of a percent of the DER's rating.
const FULL_LIMIT: f64 = 10_000.0;

/// Where the agent posts its DER's controls.
#[derive(Clone)]
pub struct DerControls {
    /// The 2030.5 server core (the process serves it to the DER over HTTPS).
    pub server: Arc<Mutex<Server>>,
    /// The DER's program on it.
    pub program: ProgramIndex,
    /// The DER's active power rating, W (`opModMaxLimW` is a share of it).
    pub rating_w: f64,
}

impl std::fmt::Debug for DerControls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DerControls")
            .field("program", &self.program)
            .field("rating_w", &self.rating_w)
            .finish_non_exhaustive()
    }
}

/// `opModMaxLimW` for an export of `export_w` from a DER rated `rating_w`: hundredths of a percent, at most
/// the whole rating.
fn max_limit(export_w: f64, rating_w: f64) -> u16 {
    let share = if rating_w > 0.0 {
        (export_w / rating_w * FULL_LIMIT).round()
    } else {
        0.0
    };
    // Clamped into 0..=10000 first.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let hundredths = share.clamp(0.0, FULL_LIMIT) as u16;
    hundredths
}

impl DerControls {
    /// Posts the event for `command`: its interval, the cap at its export. A setpoint that imports is refused
    /// (an inverter's cap cannot make the cell take power), as is one before the epoch.
    pub(crate) fn post(&self, command: &SetpointCommand, now: Timestamp) -> Result<String, String> {
        let export = command.setpoint.active.w();
        if export < 0 {
            return Err(format!(
                "a DER's cap cannot hold an import of {} W at the connection",
                export.unsigned_abs()
            ));
        }
        let start = command.from.unix_ms().div_euclid(1000);
        let duration = u32::try_from(
            command
                .until
                .unix_ms()
                .saturating_sub(command.from.unix_ms())
                .div_euclid(1000),
        )
        .map_err(|_| "the setpoint's interval is too long for one 2030.5 event".to_owned())?;
        // Whole watts: exact in an f64.
        #[allow(clippy::cast_precision_loss)]
        let limit = max_limit(export as f64, self.rating_w);
        let control = DERControl {
            creation_time: now.unix_ms().div_euclid(1000),
            description: Some("IDEA transaction".into()),
            interval: DateTimeInterval {
                start,
                duration,
                ..Default::default()
            },
            der_control_base: DERControlBase {
                op_mod_max_lim_w: Some(limit),
                ..Default::default()
            },
            response_required: Some(HexBinary([RESPONSES])),
            ..Default::default()
        };
        let mut server = self
            .server
            .lock()
            .map_err(|_| "the 2030.5 server's state is poisoned".to_owned())?;
        server
            .add_control(self.program, control, now.unix_ms().div_euclid(1000))
            .ok_or_else(|| "the DER's program is not on the 2030.5 server".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_a_share_of_the_rating_within_it() {
        assert_eq!(max_limit(3000.0, 10_000.0), 3000, "30 %");
        assert_eq!(
            max_limit(12_000.0, 10_000.0),
            10_000,
            "never beyond the rating"
        );
        assert_eq!(max_limit(-5.0, 10_000.0), 0);
        assert_eq!(max_limit(100.0, 0.0), 0, "no rating, no power");
    }
}
