//! The SOQL subset the simulator understands: `SELECT f, ... | COUNT() FROM Obj [WHERE ...]
//! [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]`, with `AND`/`OR`/`NOT`,
//! `= != <> < > <= >= LIKE IN NOT IN` on literals (strings, numbers, booleans, null, dates,
//! date-times).

use std::cmp::Ordering;

use serde_json::Value;
use time::OffsetDateTime;

use crate::schema::{FieldType, ObjectDef};

/// A SOQL error, shaped like Salesforce's (`errorCode` + message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoqlError {
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Literal(String),
    Comma,
    LParen,
    RParen,
    Op(&'static str),
    Colon,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Date(String),
    DateTime(OffsetDateTime),
}

#[derive(Debug, Clone)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp(String, &'static str, Lit),
    Like(String, String),
    In(String, Vec<Lit>, bool),
}

#[derive(Debug, Clone)]
pub struct Order {
    pub field: String,
    pub desc: bool,
    pub nulls_last: bool,
}

/// A parsed query (field names already resolved to their canonical spelling).
#[derive(Debug, Clone)]
pub struct Query {
    pub count: bool,
    pub fields: Vec<String>,
    pub object: String,
    pub filter: Option<Expr>,
    pub order: Vec<Order>,
    pub limit: Option<usize>,
    pub offset: usize,
}

fn malformed(what: &str) -> SoqlError {
    SoqlError { code: "MALFORMED_QUERY", message: format!("unexpected token: {what}") }
}

/// The tokens of `src`, each with the index of its first character.
fn tokenize(src: &str) -> Result<Vec<(Tok, usize)>, SoqlError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let (tok, len) = if let Some(symbol) = symbol(&chars, i) {
            symbol
        } else if c == '\'' {
            string(&chars, i)?
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            // Numbers, dates and date-times (`2026-01-01T00:00:00Z`), one literal each.
            let len = 1 + run(&chars, i + 1, |ch| {
                ch.is_ascii_digit() || matches!(ch, '.' | ':' | '-' | '+' | 'T' | 'Z' | 'E' | 'e')
            });
            (Tok::Literal(chars[i..i + len].iter().collect()), len)
        } else if c.is_alphabetic() || c == '_' {
            let len = run(&chars, i, |ch| ch.is_alphanumeric() || ch == '_' || ch == '.');
            (Tok::Ident(chars[i..i + len].iter().collect()), len)
        } else {
            return Err(malformed(&c.to_string()));
        };
        out.push((tok, i));
        i += len;
    }
    Ok(out)
}

/// Punctuation and comparison operators at `i` (`<>` is `!=`), with their length.
fn symbol(chars: &[char], i: usize) -> Option<(Tok, usize)> {
    let next = chars.get(i + 1).copied();
    Some(match (chars[i], next) {
        (',', _) => (Tok::Comma, 1),
        ('(', _) => (Tok::LParen, 1),
        (')', _) => (Tok::RParen, 1),
        (':', _) => (Tok::Colon, 1),
        ('=', _) => (Tok::Op("="), 1),
        ('!', Some('=')) | ('<', Some('>')) => (Tok::Op("!="), 2),
        ('<', Some('=')) => (Tok::Op("<="), 2),
        ('<', _) => (Tok::Op("<"), 1),
        ('>', Some('=')) => (Tok::Op(">="), 2),
        ('>', _) => (Tok::Op(">"), 1),
        _ => return None,
    })
}

/// A quoted string at `i` with its escapes (`\n`, `\t`, `\r`, `\'`, ...), and its length.
fn string(chars: &[char], i: usize) -> Result<(Tok, usize), SoqlError> {
    let mut s = String::new();
    let mut j = i + 1;
    loop {
        match chars.get(j) {
            None => return Err(malformed("unterminated string")),
            Some('\\') => {
                let e = chars.get(j + 1).copied().unwrap_or('\\');
                s.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    other => other,
                });
                j += 2;
            }
            Some('\'') => return Ok((Tok::Str(s), j + 1 - i)),
            Some(&ch) => {
                s.push(ch);
                j += 1;
            }
        }
    }
}

/// How many characters from `i` on are `in_run`.
fn run(chars: &[char], i: usize, in_run: impl Fn(char) -> bool) -> usize {
    chars.get(i..).unwrap_or_default().iter().take_while(|c| in_run(**c)).count()
}

fn parse_literal_text(s: &str) -> Option<Lit> {
    if s.contains('T') {
        crate::dates::parse(s).map(Lit::DateTime)
    } else if s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-' {
        Some(Lit::Date(s.to_owned()))
    } else {
        s.parse::<f64>().ok().map(Lit::Num)
    }
}

struct Parser<'a> {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    src: &'a str,
    object: Option<&'a ObjectDef>,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|(t, _)| t.clone());
        self.pos += 1;
        t
    }

    fn peek_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw))
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), SoqlError> {
        match self.next() {
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw) => Ok(()),
            Some(t) => Err(malformed(&tok_text(&t))),
            None => Err(malformed("<EOF>")),
        }
    }

    fn expect(&mut self, want: Tok) -> Result<(), SoqlError> {
        match self.next() {
            Some(t) if t == want => Ok(()),
            Some(t) => Err(malformed(&tok_text(&t))),
            None => Err(malformed("<EOF>")),
        }
    }

    fn column_of(&self, index: usize) -> usize {
        self.toks.get(index).map(|(_, p)| *p + 1).unwrap_or(1)
    }

    fn field(&mut self) -> Result<String, SoqlError> {
        let index = self.pos;
        match self.next() {
            Some(Tok::Ident(name)) => self.resolve_field(&name, index),
            Some(t) => Err(malformed(&tok_text(&t))),
            None => Err(malformed("<EOF>")),
        }
    }

    fn caret_error(&self, index: usize, code: &'static str, text: &str) -> SoqlError {
        SoqlError {
            code,
            message: format!(
                "\n{}\n{}^\nERROR at Row:1:Column:{}\n{}",
                self.src,
                " ".repeat(self.column_of(index).saturating_sub(1)),
                self.column_of(index),
                text
            ),
        }
    }

    fn resolve_field(&self, name: &str, index: usize) -> Result<String, SoqlError> {
        let Some(object) = self.object else {
            return Ok(name.to_owned());
        };
        match object.field(name) {
            Some(f) => Ok(f.name.clone()),
            None => Err(self.caret_error(
                index,
                "INVALID_FIELD",
                &format!(
                    "No such column '{name}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                    object.name
                ),
            )),
        }
    }

    fn literal(&mut self) -> Result<Lit, SoqlError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Lit::Str(s)),
            Some(Tok::Literal(s)) => parse_literal_text(&s).ok_or_else(|| malformed(&s)),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("null") => Ok(Lit::Null),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("true") => Ok(Lit::Bool(true)),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("false") => Ok(Lit::Bool(false)),
            Some(t) => Err(malformed(&tok_text(&t))),
            None => Err(malformed("<EOF>")),
        }
    }

    fn or(&mut self) -> Result<Expr, SoqlError> {
        self.chain("OR", Self::and, Expr::Or)
    }

    fn and(&mut self) -> Result<Expr, SoqlError> {
        self.chain("AND", Self::not, Expr::And)
    }

    /// `operand (keyword operand)*`, folded to the left.
    fn chain(
        &mut self,
        keyword: &str,
        operand: fn(&mut Self) -> Result<Expr, SoqlError>,
        join: fn(Box<Expr>, Box<Expr>) -> Expr,
    ) -> Result<Expr, SoqlError> {
        let mut left = operand(self)?;
        while self.peek_kw(keyword) {
            self.pos += 1;
            let right = operand(self)?;
            left = join(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, SoqlError> {
        if self.peek_kw("NOT") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, SoqlError> {
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let e = self.or()?;
            self.expect(Tok::RParen)?;
            return Ok(e);
        }
        let field = self.field()?;
        match self.next() {
            Some(Tok::Op(op)) => Ok(Expr::Cmp(field, op, self.literal()?)),
            Some(Tok::Ident(kw)) if kw.eq_ignore_ascii_case("LIKE") => match self.next() {
                Some(Tok::Str(p)) => Ok(Expr::Like(field, p)),
                Some(t) => Err(malformed(&tok_text(&t))),
                None => Err(malformed("<EOF>")),
            },
            Some(Tok::Ident(kw))
                if kw.eq_ignore_ascii_case("IN") || kw.eq_ignore_ascii_case("NOT") =>
            {
                let negated = kw.eq_ignore_ascii_case("NOT");
                if negated {
                    self.expect_kw("IN")?;
                }
                self.expect(Tok::LParen)?;
                let mut values = vec![self.literal()?];
                while self.peek() == Some(&Tok::Comma) {
                    self.pos += 1;
                    values.push(self.literal()?);
                }
                self.expect(Tok::RParen)?;
                Ok(Expr::In(field, values, negated))
            }
            Some(t) => Err(malformed(&tok_text(&t))),
            None => Err(malformed("<EOF>")),
        }
    }
}

fn tok_text(t: &Tok) -> String {
    match t {
        Tok::Ident(s) | Tok::Literal(s) => s.clone(),
        Tok::Str(s) => format!("'{s}'"),
        Tok::Comma => ",".into(),
        Tok::LParen => "(".into(),
        Tok::RParen => ")".into(),
        Tok::Colon => ":".into(),
        Tok::Op(o) => (*o).into(),
    }
}

/// Parses `src` against the org's objects (looked up case-insensitively by `lookup`).
pub fn parse<'a>(
    src: &'a str,
    lookup: impl Fn(&str) -> Option<&'a ObjectDef>,
) -> Result<Query, SoqlError> {
    let toks = tokenize(src)?;
    let mut p = Parser { toks, pos: 0, src, object: None };
    p.expect_kw("SELECT")?;
    // Field list first (raw), resolved once the object is known.
    let (count, raw_fields) = select_list(&mut p)?;
    p.expect_kw("FROM")?;
    let object = from_object(&mut p, &lookup)?;
    p.object = Some(object);
    let mut fields = Vec::new();
    for (f, index) in raw_fields {
        let resolved = match f.split_once('.') {
            Some((rel, sub)) => related_field(&p, object, &lookup, (rel, sub), index)?,
            None => p.resolve_field(&f, index)?,
        };
        if !fields.contains(&resolved) {
            fields.push(resolved);
        }
    }
    let mut query = Query {
        count,
        fields,
        object: object.name.clone(),
        filter: None,
        order: Vec::new(),
        limit: None,
        offset: 0,
    };
    if p.peek_kw("WHERE") {
        p.pos += 1;
        query.filter = Some(p.or()?);
    }
    if p.peek_kw("ORDER") {
        p.pos += 1;
        p.expect_kw("BY")?;
        query.order = order_by(&mut p)?;
    }
    if p.peek_kw("LIMIT") {
        p.pos += 1;
        query.limit = Some(int_arg(&mut p)?);
    }
    if p.peek_kw("OFFSET") {
        p.pos += 1;
        query.offset = int_arg(&mut p)?;
    }
    if let Some(t) = p.next() {
        return Err(malformed(&tok_text(&t)));
    }
    Ok(query)
}

/// `COUNT()`, or the selected fields as written with the token index of each.
fn select_list(p: &mut Parser<'_>) -> Result<(bool, Vec<(String, usize)>), SoqlError> {
    if p.peek_kw("COUNT") && p.toks.get(p.pos + 1).map(|t| &t.0) == Some(&Tok::LParen) {
        p.pos += 2;
        p.expect(Tok::RParen)?;
        return Ok((true, Vec::new()));
    }
    let mut raw_fields = Vec::new();
    loop {
        let index = p.pos;
        match p.next() {
            Some(Tok::Ident(f)) if !f.eq_ignore_ascii_case("FROM") => raw_fields.push((f, index)),
            Some(t) => return Err(malformed(&tok_text(&t))),
            None => return Err(malformed("<EOF>")),
        }
        if p.peek() == Some(&Tok::Comma) {
            p.pos += 1;
        } else {
            return Ok((false, raw_fields));
        }
    }
}

/// The object after FROM, as the org knows it; `INVALID_TYPE` with a caret under it otherwise.
fn from_object<'a>(
    p: &mut Parser<'a>,
    lookup: &dyn Fn(&str) -> Option<&'a ObjectDef>,
) -> Result<&'a ObjectDef, SoqlError> {
    let object_index = p.pos;
    let object_name = match p.next() {
        Some(Tok::Ident(o)) => o,
        Some(t) => return Err(malformed(&tok_text(&t))),
        None => return Err(malformed("<EOF>")),
    };
    lookup(&object_name).ok_or_else(|| SoqlError {
        code: "INVALID_TYPE",
        message: format!(
            "\n{}\n{}^\nERROR at Row:1:Column:{}\nsObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
            p.src,
            " ".repeat(p.column_of(object_index).saturating_sub(1)),
            p.column_of(object_index),
            object_name
        ),
    })
}

/// A field of a parent through a relationship (`Account__r.Name`), as the parent names it.
fn related_field<'a>(
    p: &Parser<'a>,
    object: &ObjectDef,
    lookup: &dyn Fn(&str) -> Option<&'a ObjectDef>,
    (rel, sub): (&str, &str),
    index: usize,
) -> Result<String, SoqlError> {
    let target = object
        .fields
        .iter()
        .find_map(|fd| fd.relationship(rel))
        .and_then(|l| Some((l.relationship.clone(), lookup(&l.target)?)));
    let Some((rel_name, parent)) = target else {
        return Err(p.caret_error(
            index,
            "INVALID_FIELD",
            &format!("Didn't understand relationship '{rel}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."),
        ));
    };
    match parent.field(sub) {
        Some(pf) => Ok(format!("{rel_name}.{}", pf.name)),
        None => Err(p.caret_error(
            index,
            "INVALID_FIELD",
            &format!("No such column '{sub}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", parent.name),
        )),
    }
}

/// The ORDER BY list: fields, each ASC or DESC, NULLS FIRST or LAST (Salesforce: nulls first in
/// ascending order, last in descending, unless told).
fn order_by(p: &mut Parser<'_>) -> Result<Vec<Order>, SoqlError> {
    let mut order = Vec::new();
    loop {
        let field = p.field()?;
        let mut desc = false;
        if p.peek_kw("ASC") {
            p.pos += 1;
        } else if p.peek_kw("DESC") {
            p.pos += 1;
            desc = true;
        }
        let mut nulls_last = desc;
        if p.peek_kw("NULLS") {
            p.pos += 1;
            if p.peek_kw("LAST") {
                nulls_last = true;
            } else {
                p.expect_kw("FIRST")?;
                nulls_last = false;
                p.pos -= 1;
            }
            p.pos += 1;
        }
        order.push(Order { field, desc, nulls_last });
        if p.peek() == Some(&Tok::Comma) {
            p.pos += 1;
        } else {
            return Ok(order);
        }
    }
}

fn int_arg(p: &mut Parser<'_>) -> Result<usize, SoqlError> {
    match p.next() {
        Some(Tok::Literal(n)) => n.parse().map_err(|_| malformed(&n)),
        Some(t) => Err(malformed(&tok_text(&t))),
        None => Err(malformed("<EOF>")),
    }
}

/// Compares a stored value with a literal according to the field type; `None` if incomparable.
fn compare(ft: FieldType, value: &Value, lit: &Lit) -> Option<Ordering> {
    match (value, lit) {
        (Value::Null, _) | (_, Lit::Null) => None,
        (Value::Bool(a), Lit::Bool(b)) => Some(a.cmp(b)),
        (Value::Number(n), Lit::Num(b)) => n.as_f64()?.partial_cmp(b),
        (Value::String(s), Lit::DateTime(b)) if ft == FieldType::Datetime => {
            Some(crate::dates::parse(s)?.cmp(b))
        }
        (Value::String(s), Lit::Date(b)) => Some(s.as_str()[..s.len().min(10)].cmp(b.as_str())),
        (Value::String(s), Lit::Str(b)) => {
            if ft == FieldType::Id || ft == FieldType::Reference {
                let (a, b) = (crate::ids::normalize(s), crate::ids::normalize(b));
                Some(a.cmp(&b))
            } else {
                Some(s.to_lowercase().cmp(&b.to_lowercase()))
            }
        }
        _ => None,
    }
}

fn like(value: &str, pattern: &str) -> bool {
    fn go(v: &[char], p: &[char]) -> bool {
        match p.split_first() {
            None => v.is_empty(),
            Some(('%', rest)) => (0..=v.len()).any(|i| go(&v[i..], rest)),
            Some(('_', rest)) => !v.is_empty() && go(&v[1..], rest),
            Some((c, rest)) => v.first().is_some_and(|x| x == c) && go(&v[1..], rest),
        }
    }
    let v: Vec<char> = value.to_lowercase().chars().collect();
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    go(&v, &p)
}

/// Evaluates a filter on a row (`get` returns a field's value, Null when unset).
pub fn eval(expr: &Expr, object: &ObjectDef, get: &dyn Fn(&str) -> Value) -> bool {
    let ft = |f: &str| object.field(f).map(|d| d.field_type).unwrap_or(FieldType::String);
    match expr {
        Expr::And(a, b) => eval(a, object, get) && eval(b, object, get),
        Expr::Or(a, b) => eval(a, object, get) || eval(b, object, get),
        Expr::Not(a) => !eval(a, object, get),
        Expr::Cmp(f, op, lit) => {
            let v = get(f);
            if *lit == Lit::Null {
                return match *op {
                    "=" => v.is_null(),
                    "!=" => !v.is_null(),
                    _ => false,
                };
            }
            if ft(f) == FieldType::Multipicklist && (*op == "=" || *op == "!=") {
                let eq = matches!((&v, lit), (Value::String(s), Lit::Str(b)) if s.eq_ignore_ascii_case(b));
                return if *op == "=" { eq } else { !eq };
            }
            match compare(ft(f), &v, lit) {
                None => *op == "!=" && v.is_null(),
                Some(o) => match *op {
                    "=" => o == Ordering::Equal,
                    "!=" => o != Ordering::Equal,
                    "<" => o == Ordering::Less,
                    ">" => o == Ordering::Greater,
                    "<=" => o != Ordering::Greater,
                    ">=" => o != Ordering::Less,
                    _ => false,
                },
            }
        }
        Expr::Like(f, p) => match get(f) {
            Value::String(s) => like(&s, p),
            _ => false,
        },
        Expr::In(f, values, negated) => {
            let v = get(f);
            let hit = values.iter().any(|lit| compare(ft(f), &v, lit) == Some(Ordering::Equal));
            hit != *negated
        }
    }
}

/// Orders two rows by the ORDER BY list.
pub fn order_rows(
    order: &[Order],
    object: &ObjectDef,
    a: &dyn Fn(&str) -> Value,
    b: &dyn Fn(&str) -> Value,
) -> Ordering {
    for o in order {
        let (va, vb) = (a(&o.field), b(&o.field));
        let ord = match (va.is_null(), vb.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => {
                if o.nulls_last {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (false, true) => {
                if o.nulls_last {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (false, false) => {
                let ft = object.field(&o.field).map(|d| d.field_type).unwrap_or(FieldType::String);
                let base = match (&va, &vb) {
                    (Value::Number(x), Value::Number(y)) => {
                        x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Ordering::Equal)
                    }
                    (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
                    (Value::String(x), Value::String(y)) if ft == FieldType::Datetime => {
                        crate::dates::parse(x).cmp(&crate::dates::parse(y))
                    }
                    (Value::String(x), Value::String(y))
                        if ft.is_text() && ft != FieldType::Id && ft != FieldType::Reference =>
                    {
                        x.to_lowercase().cmp(&y.to_lowercase())
                    }
                    (Value::String(x), Value::String(y)) => x.cmp(y),
                    _ => Ordering::Equal,
                };
                if o.desc { base.reverse() } else { base }
            }
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::seeded_objects;

    fn q(src: &str) -> Result<Query, SoqlError> {
        let objects = seeded_objects();
        let objects: &'static Vec<ObjectDef> = Box::leak(Box::new(objects));
        parse(src, |n| objects.iter().find(|o| o.name.eq_ignore_ascii_case(n)))
    }

    #[test]
    fn parses_the_subset() {
        let query = q("select id, name, AMOUNT__c FROM invoice__c WHERE (Status__c = 'Paid' OR Amount__c >= 10.5) AND Name LIKE 'INV%' AND Status__c NOT IN ('Void') AND LastModifiedDate > 2025-01-01T00:00:00Z ORDER BY Name DESC NULLS LAST, Id LIMIT 10 OFFSET 2").unwrap();
        assert_eq!(query.fields, vec!["Id", "Name", "Amount__c"]);
        assert_eq!(query.object, "Invoice__c");
        assert_eq!(query.limit, Some(10));
        assert_eq!(query.offset, 2);
        assert_eq!(query.order.len(), 2);
        assert!(q("SELECT COUNT() FROM Account WHERE Name != null").unwrap().count);
    }

    #[test]
    fn errors_have_salesforce_codes() {
        assert_eq!(q("SELEKT Id FROM Account").unwrap_err().code, "MALFORMED_QUERY");
        let e = q("SELECT Bacon__c FROM Account LIMIT 2").unwrap_err();
        assert_eq!(e.code, "INVALID_FIELD");
        assert!(e.message.contains("ERROR at Row:1:Column:8"), "{}", e.message);
        assert_eq!(q("SELECT Id FROM Nope__c").unwrap_err().code, "INVALID_TYPE");
    }

    #[test]
    fn like_matches() {
        assert!(like("INV-000001", "inv-%1"));
        assert!(like("abc", "a_c"));
        assert!(!like("abc", "a_"));
    }
}
