//! Device profiles as data: the information-object map of a controlled station (`data/energy-router.toml` for the
//! IDEA energy router), turned into a point database and a command table.

use crate::element::Element;
use crate::error::Error;
use crate::station::{CommandMode, OutstationConfig, Point, PointDatabase};
use crate::time::Cp56Time2a;
use crate::types::{ElementKind, type_by_name};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The profile of the IDEA energy router, shipped with this crate.
pub const ENERGY_ROUTER: &str = include_str!("../data/energy-router.toml");
/// The IDEA smart meter's information-object map (measured values and integrated totals).
pub const SMART_METER: &str = include_str!("../data/smart-meter.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    common_address: u16,
    #[serde(default)]
    ports: u32,
    #[serde(default)]
    per_port: Vec<PerPort>,
    #[serde(default)]
    point: Vec<Single>,
    #[serde(default)]
    command: Vec<Command>,
    #[serde(default)]
    per_port_command: Vec<PerPort>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PerPort {
    name: String,
    #[serde(rename = "type")]
    type_name: String,
    base: u32,
    #[serde(default)]
    group: Option<u8>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Single {
    name: String,
    #[serde(rename = "type")]
    type_name: String,
    ioa: u32,
    #[serde(default)]
    group: Option<u8>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Command {
    name: String,
    #[serde(rename = "type")]
    type_name: String,
    ioa: u32,
    #[serde(default)]
    feedback: Option<String>,
    /// Executed only after a selection (IEC 60870-5-101 clause 7.4.2, select-before-operate).
    #[serde(default)]
    select_before_operate: bool,
}

/// One named point or command of a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its name, e.g. `p_kw[1]` for port 1 or `voltage_v`.
    pub name: String,
    /// The ASDU type.
    pub type_id: u8,
    /// The information object address.
    pub ioa: u32,
    /// Interrogation group (1–16), for points.
    pub group: Option<u8>,
}

/// A station's information-object map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The common address.
    pub common_address: u16,
    /// Monitored points.
    pub points: Vec<Entry>,
    /// Commands.
    pub commands: Vec<Entry>,
    /// Command name → the point that reports its state.
    pub feedback: BTreeMap<String, String>,
    /// The commands executed only after a selection (select-before-operate), by IOA; the others are direct.
    pub select_before_operate: std::collections::BTreeSet<u32>,
}

fn invalid(reason: String) -> Error {
    Error::Encode {
        field: "profile",
        reason,
    }
}

fn type_id(name: &str, entry: &str) -> Result<u8, Error> {
    type_by_name(name)
        .map(|t| t.id)
        .ok_or_else(|| invalid(format!("{entry}: unknown type {name}")))
}

/// A neutral value for each element of a type: zero values, good quality, time tags zeroed.
fn initial_elements(type_id: u8) -> Vec<Element> {
    crate::types::type_info(type_id).map_or_else(Vec::new, |t| {
        t.elements
            .iter()
            .map(|k| match k {
                ElementKind::R32 => Element::R32(0),
                ElementKind::Nva => Element::Nva(0),
                ElementKind::Sva => Element::Sva(0),
                ElementKind::Siq => Element::Siq(0),
                ElementKind::Diq => Element::Diq(1),
                ElementKind::Qds => Element::Qds(0),
                ElementKind::Bsi => Element::Bsi(0),
                ElementKind::Bcr => Element::Bcr(0, 0),
                ElementKind::Vti => Element::Vti(0),
                ElementKind::Cp56 => Element::Cp56(Cp56Time2a([0, 0, 0, 0, 1, 1, 0])),
                ElementKind::Cp24 => Element::Cp24(crate::time::Cp24Time2a([0; 3])),
                _ => Element::Qds(0),
            })
            .collect()
    })
}

impl Profile {
    /// Parses a profile; names, types and addresses must be unique and known, groups within 1–16.
    pub fn parse(text: &str) -> Result<Profile, Error> {
        let file: File = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let mut points = Vec::new();
        for p in &file.per_port {
            for port in 0..file.ports {
                let ioa = p
                    .base
                    .checked_add(port)
                    .ok_or_else(|| invalid(format!("{}: address overflow", p.name)))?;
                points.push(Entry {
                    name: format!("{}[{port}]", p.name),
                    type_id: type_id(&p.type_name, &p.name)?,
                    ioa,
                    group: p.group,
                });
            }
        }
        for p in &file.point {
            points.push(Entry {
                name: p.name.clone(),
                type_id: type_id(&p.type_name, &p.name)?,
                ioa: p.ioa,
                group: p.group,
            });
        }
        let mut commands = Vec::new();
        let mut feedback = BTreeMap::new();
        let select_before_operate = file
            .command
            .iter()
            .filter(|c| c.select_before_operate)
            .map(|c| c.ioa)
            .collect();
        for c in &file.command {
            commands.push(Entry {
                name: c.name.clone(),
                type_id: type_id(&c.type_name, &c.name)?,
                ioa: c.ioa,
                group: None,
            });
            if let Some(f) = &c.feedback {
                feedback.insert(c.name.clone(), f.clone());
            }
        }
        for c in &file.per_port_command {
            for port in 0..file.ports {
                let ioa = c
                    .base
                    .checked_add(port)
                    .ok_or_else(|| invalid(format!("{}: address overflow", c.name)))?;
                commands.push(Entry {
                    name: format!("{}[{port}]", c.name),
                    type_id: type_id(&c.type_name, &c.name)?,
                    ioa,
                    group: None,
                });
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for e in points.iter().chain(&commands) {
            if !seen.insert(e.ioa) {
                return Err(invalid(format!("{}: address {} used twice", e.name, e.ioa)));
            }
            if e.group.is_some_and(|g| !(1..=16).contains(&g)) {
                return Err(invalid(format!("{}: group outside 1–16", e.name)));
            }
        }
        for (command, point) in &feedback {
            if !points.iter().any(|p| &p.name == point) {
                return Err(invalid(format!(
                    "{command}: feedback point {point} does not exist"
                )));
            }
        }
        Ok(Profile {
            common_address: file.common_address,
            points,
            commands,
            feedback,
            select_before_operate,
        })
    }

    /// The IDEA energy router's profile.
    pub fn energy_router() -> Result<Profile, Error> {
        Profile::parse(ENERGY_ROUTER)
    }

    /// The IDEA smart meter's profile.
    pub fn smart_meter() -> Result<Profile, Error> {
        Profile::parse(SMART_METER)
    }

    /// How the command at `ioa` is executed.
    pub fn mode_of(&self, ioa: u32) -> CommandMode {
        if self.select_before_operate.contains(&ioa) {
            CommandMode::SelectBeforeOperate
        } else {
            CommandMode::Direct
        }
    }

    /// A point or command by name.
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.points
            .iter()
            .chain(&self.commands)
            .find(|e| e.name == name)
    }

    /// The point database (neutral initial values) and the station configuration (each command direct or
    /// select-before-operate as the profile says).
    pub fn station(&self) -> (PointDatabase, OutstationConfig) {
        let mut db = PointDatabase::new();
        for p in &self.points {
            let point = Point {
                type_id: p.type_id,
                elements: initial_elements(p.type_id),
                groups: p.group.into_iter().collect(),
                // Integrated totals answer counter interrogation, not station interrogation.
                counter: matches!(p.type_id, 15 | 16 | 37),
            };
            // The elements are built from the type's own layout.
            let _ = db.insert(p.ioa, point);
        }
        let mut config = OutstationConfig::new(self.common_address);
        for c in &self.commands {
            config
                .commands
                .insert(c.ioa, (c.type_id, self.mode_of(c.ioa)));
        }
        (db, config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_energy_router_profile() {
        let p = Profile::energy_router().unwrap();
        assert_eq!(p.common_address, 1);
        assert_eq!(p.entry("p_kw[2]").unwrap().ioa, 1002);
        assert_eq!(
            p.entry("p_setpoint_kw[1]").unwrap().type_id,
            50,
            "C_SE_NC_1"
        );
        assert_eq!(p.entry("mode").map(|e| e.type_id), Some(11), "M_ME_NB_1");
        assert_eq!(
            p.entry("set_mode").map(|e| e.type_id),
            Some(49),
            "C_SE_NB_1"
        );
        assert_eq!(
            p.feedback.get("set_enable").map(String::as_str),
            Some("enabled")
        );
        let (db, config) = p.station();
        assert_eq!(db.iter().count(), p.points.len());
        assert_eq!(config.commands.len(), 2 + 3 * 3);
        // Switching the router on or off is selected first; set-points are direct.
        assert_eq!(
            config.commands.get(&5001),
            Some(&(45, CommandMode::SelectBeforeOperate))
        );
        assert_eq!(config.commands.get(&5101), Some(&(50, CommandMode::Direct)));
    }

    #[test]
    fn malformed_profiles_are_errors() {
        assert!(
            Profile::parse(
                "common_address = 1\n[[point]]\nname = \"x\"\ntype = \"M_XX_NA_1\"\nioa = 1\n"
            )
            .is_err()
        );
        let twice = "common_address = 1\n[[point]]\nname = \"a\"\ntype = \"M_SP_NA_1\"\nioa = 1\n[[point]]\nname = \"b\"\ntype = \"M_SP_NA_1\"\nioa = 1\n";
        assert!(
            Profile::parse(twice)
                .unwrap_err()
                .to_string()
                .contains("used twice")
        );
        assert!(Profile::parse("common_address = 1\nunknown = 2\n").is_err());
    }
}
