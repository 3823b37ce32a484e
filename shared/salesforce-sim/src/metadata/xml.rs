//! The metadata files' XML: each element with its local name, text, children and the line and
//! column where it starts, as Salesforce's component failures name them; a DTD is refused.

use quick_xml::events::Event;

/// One element of a metadata file: local name, text, where it starts, children.
#[derive(Debug, Clone, Default)]
pub(super) struct El {
    pub(super) name: String,
    pub(super) text: String,
    pub(super) line: u32,
    pub(super) column: u32,
    pub(super) children: Vec<El>,
}

impl El {
    pub(super) fn child(&self, name: &str) -> Option<&El> {
        self.children.iter().find(|c| c.name == name)
    }
    pub(super) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a El> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    pub(super) fn text_of(&self, name: &str) -> Option<String> {
        self.child(name).map(|c| c.text.trim().to_owned())
    }
}

fn locate(src: &str, offset: usize) -> (u32, u32) {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.len(), |i| before.len() - i - 1) + 1;
    (u32::try_from(line).unwrap_or(u32::MAX), u32::try_from(column).unwrap_or(u32::MAX))
}

/// Parses a metadata file; an XML error comes with its line and column.
pub(super) fn parse_xml(src: &str) -> Result<El, (u32, u32, String)> {
    let mut reader = quick_xml::Reader::from_str(src);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<El> = vec![El::default()];
    loop {
        let start = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader.read_event().map_err(|e| {
            let (l, c) =
                locate(src, usize::try_from(reader.error_position()).unwrap_or(usize::MAX));
            (l, c, e.to_string())
        })?;
        let tag_at = |start: usize| {
            let from = src[start.min(src.len())..].find('<').map_or(start, |i| start + i);
            locate(src, from)
        };
        match event {
            Event::Start(e) => stack.push(element(&e, tag_at(start))),
            Event::Empty(e) => {
                let el = element(&e, tag_at(start));
                if let Some(top) = stack.last_mut() {
                    top.children.push(el);
                }
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err((0, 0, "unbalanced end tag".into()));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return Err((0, 0, "unbalanced end tag".into())),
                }
            }
            Event::Text(t) => push_text(&mut stack, &t.xml10_content()),
            Event::CData(t) => push_text(&mut stack, &t.xml10_content()),
            Event::GeneralRef(r) => {
                let text = entity(&r).map_err(|e| {
                    let (l, c) = locate(src, start);
                    (l, c, e)
                })?;
                push_text(&mut stack, &text);
            }
            Event::DocType(_) => {
                let (l, c) = locate(src, start);
                return Err((l, c, "DOCTYPE is not allowed".into()));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut root = stack.pop().unwrap_or_default();
    if !stack.is_empty() {
        return Err((0, 0, "the document ends inside an element".into()));
    }
    root.children.pop().filter(|_| root.children.is_empty()).ok_or((
        1,
        1,
        "expected exactly one root element".into(),
    ))
}

/// An element starting at `at` (line, column), without its children and text yet.
fn element(e: &quick_xml::events::BytesStart<'_>, at: (u32, u32)) -> El {
    El {
        name: AsRef::<str>::as_ref(&e.local_name()).to_owned(),
        line: at.0,
        column: at.1,
        ..El::default()
    }
}

fn push_text(stack: &mut [El], text: &str) {
    if let Some(top) = stack.last_mut() {
        top.text.push_str(text);
    }
}

/// A character reference, or one of XML's five predefined entities; any other is undefined.
fn entity(r: &quick_xml::events::BytesRef<'_>) -> Result<String, String> {
    if r.is_char_ref() {
        return Ok(r.resolve_char_ref().ok().flatten().map(|c| c.to_string()).unwrap_or_default());
    }
    match AsRef::<str>::as_ref(&**r) {
        "amp" => Ok("&".into()),
        "lt" => Ok("<".into()),
        "gt" => Ok(">".into()),
        "apos" => Ok("'".into()),
        "quot" => Ok("\"".into()),
        other => Err(format!("undefined entity &{other};")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_elements_know_their_line_and_column() {
        let src = "<?xml version=\"1.0\"?>\n<Flow xmlns=\"x\">\n    <start>\n        <object>A&amp;B</object>\n    </start>\n</Flow>\n";
        let root = parse_xml(src).expect("parses");
        assert_eq!(root.name, "Flow");
        let start = root.child("start").expect("start");
        let object = start.child("object").expect("object");
        assert_eq!(object.text, "A&B");
        assert_eq!((object.line, object.column), (4, 9));
        assert!(parse_xml("<a><b></a>").is_err());
        assert!(parse_xml("<!DOCTYPE a><a/>").is_err());
    }
}
