//! Elements no resource type knows (a vendor's or a newer CSIP-AUS version's extensions): kept whole, written
//! back after the known elements of their parent.

/// An element kept as it was read: namespace, local name, attributes, text and children.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Extension {
    /// The element's namespace URI (`None`: IEEE 2030.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Its local name.
    pub name: String,
    /// Its attributes, namespace declarations left out: `name` without a namespace, `xsi:name`, or
    /// `{uri}name` in another namespace.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<(String, String)>,
    /// Its text (white space between child elements dropped).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Its child elements.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Extension>,
}

/// What a resource read but did not know: extension elements, and attributes outside the schema.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Unknown {
    /// Child elements no field matched, in document order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub elements: Vec<Extension>,
    /// Attributes no field matched (named as in [`Extension::attributes`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<(String, String)>,
}

impl Unknown {
    /// Nothing unknown was read.
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty() && self.attributes.is_empty()
    }
}
