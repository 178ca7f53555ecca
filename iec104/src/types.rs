//! The type identifications of IEC 60870-5-101/104 (clause 7.2.1 of IEC 60870-5-101) and the information
//! elements each carries, in order. One table: decoding, encoding and naming all read it.

/// An information element (IEC 60870-5-101 clause 7.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElementKind {
    /// Single-point information with quality (1 octet).
    Siq,
    /// Double-point information with quality (1).
    Diq,
    /// Value with transient state indication (1).
    Vti,
    /// Quality descriptor (1).
    Qds,
    /// Binary state information, 32-bit string (4).
    Bsi,
    /// Normalised value (2).
    Nva,
    /// Scaled value (2).
    Sva,
    /// Short floating point, IEEE 754 (4).
    R32,
    /// Binary counter reading (5).
    Bcr,
    /// Single event of protection equipment (1).
    Sep,
    /// Start events of protection equipment (1).
    Spe,
    /// Output circuit information of protection equipment (1).
    Oci,
    /// Quality descriptor for protection events (1).
    Qdp,
    /// Status and status change detection (4).
    Scd,
    /// Single command (1).
    Sco,
    /// Double command (1).
    Dco,
    /// Regulating step command (1).
    Rco,
    /// Qualifier of set-point command (1).
    Qos,
    /// Cause of initialisation (1).
    Coi,
    /// Qualifier of interrogation (1).
    Qoi,
    /// Qualifier of counter interrogation (1).
    Qcc,
    /// Qualifier of reset process (1).
    Qrp,
    /// Fixed test bit pattern (2).
    Fbp,
    /// Test sequence counter (2).
    Tsc,
    /// Qualifier of parameter of measured values (1).
    Qpm,
    /// Qualifier of parameter activation (1).
    Qpa,
    /// Two-octet binary time, milliseconds (2).
    Cp16,
    /// Three-octet binary time (3).
    Cp24,
    /// Seven-octet binary time (7).
    Cp56,
}

impl ElementKind {
    /// Octets on the wire.
    pub const fn width(self) -> usize {
        match self {
            ElementKind::Bsi | ElementKind::R32 | ElementKind::Scd => 4,
            ElementKind::Bcr => 5,
            ElementKind::Nva
            | ElementKind::Sva
            | ElementKind::Fbp
            | ElementKind::Tsc
            | ElementKind::Cp16 => 2,
            ElementKind::Cp24 => 3,
            ElementKind::Cp56 => 7,
            _ => 1,
        }
    }
}

/// A type identification with its name and layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeInfo {
    /// The type identification.
    pub id: u8,
    /// The standard's name, e.g. `M_ME_NC_1`.
    pub name: &'static str,
    /// The information elements of one object, in order.
    pub elements: &'static [ElementKind],
}

use ElementKind::*;

const fn t(id: u8, name: &'static str, elements: &'static [ElementKind]) -> TypeInfo {
    TypeInfo { id, name, elements }
}

/// Every type this codec understands. Other type identifications decode as raw bytes.
pub const TYPES: &[TypeInfo] = &[
    // Process information in monitor direction.
    t(1, "M_SP_NA_1", &[Siq]),
    t(2, "M_SP_TA_1", &[Siq, Cp24]),
    t(3, "M_DP_NA_1", &[Diq]),
    t(4, "M_DP_TA_1", &[Diq, Cp24]),
    t(5, "M_ST_NA_1", &[Vti, Qds]),
    t(6, "M_ST_TA_1", &[Vti, Qds, Cp24]),
    t(7, "M_BO_NA_1", &[Bsi, Qds]),
    t(8, "M_BO_TA_1", &[Bsi, Qds, Cp24]),
    t(9, "M_ME_NA_1", &[Nva, Qds]),
    t(10, "M_ME_TA_1", &[Nva, Qds, Cp24]),
    t(11, "M_ME_NB_1", &[Sva, Qds]),
    t(12, "M_ME_TB_1", &[Sva, Qds, Cp24]),
    t(13, "M_ME_NC_1", &[R32, Qds]),
    t(14, "M_ME_TC_1", &[R32, Qds, Cp24]),
    t(15, "M_IT_NA_1", &[Bcr]),
    t(16, "M_IT_TA_1", &[Bcr, Cp24]),
    t(17, "M_EP_TA_1", &[Sep, Cp16, Cp24]),
    t(18, "M_EP_TB_1", &[Spe, Qdp, Cp16, Cp24]),
    t(19, "M_EP_TC_1", &[Oci, Qdp, Cp16, Cp24]),
    t(20, "M_PS_NA_1", &[Scd, Qds]),
    t(21, "M_ME_ND_1", &[Nva]),
    t(30, "M_SP_TB_1", &[Siq, Cp56]),
    t(31, "M_DP_TB_1", &[Diq, Cp56]),
    t(32, "M_ST_TB_1", &[Vti, Qds, Cp56]),
    t(33, "M_BO_TB_1", &[Bsi, Qds, Cp56]),
    t(34, "M_ME_TD_1", &[Nva, Qds, Cp56]),
    t(35, "M_ME_TE_1", &[Sva, Qds, Cp56]),
    t(36, "M_ME_TF_1", &[R32, Qds, Cp56]),
    t(37, "M_IT_TB_1", &[Bcr, Cp56]),
    t(38, "M_EP_TD_1", &[Sep, Cp16, Cp56]),
    t(39, "M_EP_TE_1", &[Spe, Qdp, Cp16, Cp56]),
    t(40, "M_EP_TF_1", &[Oci, Qdp, Cp16, Cp56]),
    // Process information in control direction.
    t(45, "C_SC_NA_1", &[Sco]),
    t(46, "C_DC_NA_1", &[Dco]),
    t(47, "C_RC_NA_1", &[Rco]),
    t(48, "C_SE_NA_1", &[Nva, Qos]),
    t(49, "C_SE_NB_1", &[Sva, Qos]),
    t(50, "C_SE_NC_1", &[R32, Qos]),
    t(51, "C_BO_NA_1", &[Bsi]),
    t(58, "C_SC_TA_1", &[Sco, Cp56]),
    t(59, "C_DC_TA_1", &[Dco, Cp56]),
    t(60, "C_RC_TA_1", &[Rco, Cp56]),
    t(61, "C_SE_TA_1", &[Nva, Qos, Cp56]),
    t(62, "C_SE_TB_1", &[Sva, Qos, Cp56]),
    t(63, "C_SE_TC_1", &[R32, Qos, Cp56]),
    t(64, "C_BO_TA_1", &[Bsi, Cp56]),
    // System information in monitor direction.
    t(70, "M_EI_NA_1", &[Coi]),
    // System information in control direction.
    t(100, "C_IC_NA_1", &[Qoi]),
    t(101, "C_CI_NA_1", &[Qcc]),
    t(102, "C_RD_NA_1", &[]),
    t(103, "C_CS_NA_1", &[Cp56]),
    t(104, "C_TS_NA_1", &[Fbp]),
    t(105, "C_RP_NA_1", &[Qrp]),
    t(106, "C_CD_NA_1", &[Cp16]),
    t(107, "C_TS_TA_1", &[Tsc, Cp56]),
    // Parameters in control direction.
    t(110, "P_ME_NA_1", &[Nva, Qpm]),
    t(111, "P_ME_NB_1", &[Sva, Qpm]),
    t(112, "P_ME_NC_1", &[R32, Qpm]),
    t(113, "P_AC_NA_1", &[Qpa]),
];

/// The layout of a type identification, if the codec knows it.
pub fn type_info(id: u8) -> Option<&'static TypeInfo> {
    TYPES.iter().find(|t| t.id == id)
}

/// The type identification of a standard name such as `M_ME_NC_1`.
pub fn type_by_name(name: &str) -> Option<&'static TypeInfo> {
    TYPES.iter().find(|t| t.name == name)
}

/// Octets of one object's elements.
pub fn elements_width(elements: &[ElementKind]) -> usize {
    elements
        .iter()
        .map(|e| e.width())
        .fold(0usize, usize::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        let ids: std::collections::BTreeSet<u8> = TYPES.iter().map(|t| t.id).collect();
        assert_eq!(ids.len(), TYPES.len(), "unique ids");
        let expected: Vec<u8> = (1..=21)
            .chain(30..=40)
            .chain(45..=51)
            .chain(58..=64)
            .chain([70])
            .chain(100..=107)
            .chain(110..=113)
            .collect();
        assert_eq!(ids.into_iter().collect::<Vec<_>>(), expected);
        assert_eq!(type_by_name("M_ME_NC_1").unwrap().id, 13);
        assert_eq!(elements_width(type_info(36).unwrap().elements), 12);
    }
}
