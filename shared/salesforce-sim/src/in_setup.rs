//! What an admin does by hand in Setup, as the simulator's API: make or edit an outbound
//! message, deactivate or activate a flow, change a flow's entry conditions. Nothing goes
//! through the Metadata API; the Tooling API reads the result back as it would in an org, and
//! outbound messages are sent as the changed set-up says from the next change on.

use crate::SimHandle;
use crate::metadata::{self, DeployedMessage, Filter};
use crate::org::SfError;
use crate::outbound::OutboundConfig;

/// The operators of a record-triggered flow's entry conditions the simulator evaluates.
pub const FLOW_OPERATORS: [&str; 5] =
    ["EqualTo", "NotEqualTo", "GreaterThan", "LessThan", "IsNull"];

impl SimHandle {
    /// An outbound message made by hand in Setup, as an admin would (not deployed through the
    /// Metadata API): the Tooling API lists it with its fields, and it is sent on every change of
    /// the object's records (a workflow rule or flow of the admin's, replacing what was sent
    /// before). Returns its id (`04k...`, the `ActionId` of its notifications' messages).
    pub fn make_outbound_message_in_setup(
        &self,
        object: &str,
        name: &str,
        fields: &[&str],
        endpoint_url: &str,
    ) -> Result<String, SfError> {
        let object = self
            .shared
            .org_lock()
            .object(object)
            .map(|o| o.name.clone())
            .ok_or_else(SfError::not_found)?;
        let fields: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
        let id = {
            let mut st = metadata::lock(&self.shared);
            let key = format!("{object}.{name}").to_ascii_lowercase();
            let id = match st.messages.get(&key) {
                Some(old) => old.id.clone(),
                None => st.new_id("04k"),
            };
            st.messages.insert(
                key,
                DeployedMessage {
                    id: id.clone(),
                    object: object.clone(),
                    name: name.to_owned(),
                    fields: fields.clone(),
                    endpoint_url: endpoint_url.to_owned(),
                    integration_user: crate::DEFAULT_USERNAME.to_owned(),
                    include_session_id: false,
                    api_version: self.shared.settings.api_version.clone(),
                },
            );
            id
        };
        self.shared.outbound_lock().configure(OutboundConfig {
            object,
            fields,
            url: endpoint_url.to_owned(),
            send_session_id: false,
        });
        Ok(id)
    }

    /// Changes the fields an outbound message sends (Setup, the message's "Fields to Send"):
    /// its next notifications carry `fields` and the Tooling API lists them.
    pub fn edit_outbound_message_in_setup(
        &self,
        object: &str,
        name: &str,
        fields: &[&str],
    ) -> Result<(), SfError> {
        self.known_fields(object, fields.iter().copied())?;
        let key = format!("{object}.{name}").to_ascii_lowercase();
        let (message, sent_by_flow) = {
            let mut st = metadata::lock(&self.shared);
            let Some(m) = st.messages.get_mut(&key) else {
                return Err(SfError::new(
                    404,
                    "NOT_FOUND",
                    format!("no outbound message {object}.{name}"),
                ));
            };
            m.fields = fields.iter().map(|f| (*f).to_owned()).collect();
            let message = m.clone();
            let sent_by_flow =
                st.flows.values().any(|f| f.actions.iter().any(|a| a.eq_ignore_ascii_case(&key)));
            (message, sent_by_flow)
        };
        self.send_as(message, sent_by_flow);
        Ok(())
    }

    /// Deactivates a flow (Setup, Flows, "Deactivate"): its object's records send nothing it
    /// sent any more. The Tooling API shows it without an active version.
    pub fn deactivate_flow_in_setup(&self, name: &str) -> Result<(), SfError> {
        self.set_flow(name, |f| f.active = false)
    }

    /// Activates a flow's latest version again (Setup, Flows, "Activate").
    pub fn activate_flow_in_setup(&self, name: &str) -> Result<(), SfError> {
        self.set_flow(name, |f| f.active = true)
    }

    /// Replaces a flow's entry conditions (Flow Builder, the Start element): `conditions` as
    /// (field, operator, value), all of them (`any = false`) or any of them to hold. Operators:
    /// [`FLOW_OPERATORS`].
    pub fn set_flow_entry_conditions_in_setup(
        &self,
        name: &str,
        conditions: &[(&str, &str, Option<&str>)],
        any: bool,
    ) -> Result<(), SfError> {
        if let Some((_, op, _)) = conditions.iter().find(|(_, op, _)| !FLOW_OPERATORS.contains(op))
        {
            return Err(SfError::new(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                format!("unknown operator {op}; one of {}", FLOW_OPERATORS.join(", ")),
            ));
        }
        let object = {
            let st = metadata::lock(&self.shared);
            st.flows
                .get(&name.to_ascii_lowercase())
                .map(|f| f.object.clone())
                .ok_or_else(|| no_flow(name))?
        };
        let elements = self.value_elements(&object, conditions.iter().map(|(f, _, _)| *f))?;
        let filters: Vec<Filter> = conditions
            .iter()
            .zip(elements)
            .map(|((field, operator, value), element)| Filter {
                field: (*field).to_owned(),
                operator: (*operator).to_owned(),
                value: value.map(str::to_owned),
                // Flow Builder writes the value as the field's type wants (`is_null`: boolean).
                kind: if *operator == "IsNull" { "booleanValue" } else { element }.to_owned(),
            })
            .collect();
        self.set_flow(name, move |f| {
            f.filters = filters;
            f.any = any;
        })
    }

    fn set_flow(
        &self,
        name: &str,
        change: impl FnOnce(&mut metadata::DeployedFlow),
    ) -> Result<(), SfError> {
        let object = {
            let mut st = metadata::lock(&self.shared);
            let f = st.flows.get_mut(&name.to_ascii_lowercase()).ok_or_else(|| no_flow(name))?;
            change(f);
            f.object.clone()
        };
        metadata::route_outbound(&self.shared, vec![object]);
        Ok(())
    }

    /// From now on `message` is sent as it is: through the flows that send it, or, for one made
    /// by hand without a flow, on every change of its object.
    fn send_as(&self, message: DeployedMessage, sent_by_flow: bool) {
        if sent_by_flow {
            metadata::route_outbound(&self.shared, vec![message.object]);
        } else {
            self.shared.outbound_lock().configure(OutboundConfig {
                object: message.object,
                fields: message.fields,
                url: message.endpoint_url,
                send_session_id: message.include_session_id,
            });
        }
    }

    /// Refuses a field `object` does not have, as Setup's pickers cannot offer one.
    /// `INVALID_FIELD` for one of `fields` `object` lacks.
    fn known_fields<'a>(
        &self,
        object: &str,
        fields: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), SfError> {
        self.value_elements(object, fields).map(|_| ())
    }

    /// The value element of each of `object`'s `fields` ([`FieldType::flow_value_element`]);
    /// `INVALID_FIELD` for one the object lacks.
    fn value_elements<'a>(
        &self,
        object: &str,
        fields: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<&'static str>, SfError> {
        let org = self.shared.org_lock();
        let def = org.object(object).ok_or_else(SfError::not_found)?;
        fields
            .into_iter()
            .map(|f| {
                def.field(f).map(|d| d.field_type.flow_value_element()).ok_or_else(|| {
                    SfError::new(400, "INVALID_FIELD", format!("{object} has no field {f}"))
                })
            })
            .collect()
    }
}

fn no_flow(name: &str) -> SfError {
    SfError::new(404, "NOT_FOUND", format!("no flow named {name}"))
}
