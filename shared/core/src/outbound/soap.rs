//! The SOAP replies the webhook sends back to Salesforce.

use quick_xml::escape::partial_escape;

/// The acknowledgement Salesforce expects, byte for byte the body of a real listener's reply
/// (`tests/fixtures/salesforce/ack_response_aspnetcore.xml`). One ack covers every notification
/// of the POST; anything else (an empty 200, `Ack false`, a fault) makes Salesforce retry.
pub const ACK_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">
   <Ack>true</Ack>
  </notificationsResponse>
 </soapenv:Body>
</soapenv:Envelope>
"#;

/// Who a SOAP 1.1 fault blames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultCode {
    /// The request was wrong; sending it again unchanged will fail again.
    Client,
    /// We failed; Salesforce should retry.
    Server,
}

/// A SOAP 1.1 fault carrying `message` (escaped) as its `faultstring`.
pub fn fault_xml(code: FaultCode, message: &str) -> String {
    let code = match code {
        FaultCode::Client => "soapenv:Client",
        FaultCode::Server => "soapenv:Server",
    };
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            "\n",
            r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">"#,
            "<soapenv:Body><soapenv:Fault><faultcode>{}</faultcode><faultstring>{}</faultstring>",
            "</soapenv:Fault></soapenv:Body></soapenv:Envelope>\n"
        ),
        code,
        partial_escape(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_is_byte_for_byte_the_published_listener_ack() {
        let fixture =
            include_str!("../../../../tests/fixtures/salesforce/ack_response_aspnetcore.xml");
        assert_eq!(ACK_XML, fixture);
    }

    #[test]
    fn fault_escapes_the_message() {
        let xml = fault_xml(FaultCode::Client, "bad <value> & more");
        assert!(xml.contains("<faultcode>soapenv:Client</faultcode>"));
        assert!(xml.contains("<faultstring>bad &lt;value&gt; &amp; more</faultstring>"));
    }
}
