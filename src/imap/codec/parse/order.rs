//! The answers of SORT and THREAD (RFC 5256): `* SORT` numbers and `* THREAD` trees, the
//! tree read without recursion and bounded in depth.

use super::cursor::P;
use crate::error::Result;
use crate::imap::types::{Thread, Untagged};

/// A node while a `THREAD` answer is read: children are always created after their parent.
struct Node {
    uid: Option<u32>,
    children: Vec<usize>,
    depth: usize,
}

/// One open `(` of a thread list: where its first node hangs (`None`: a new root) and the
/// node the next number in its chain hangs from.
struct Frame {
    parent: Option<usize>,
    tail: Option<usize>,
}

impl<'a> P<'a> {
    /// `SORT` numbers `[(MODSEQ m)]`: the grammar of `SEARCH`, in the server's order.
    pub(super) fn sort(&mut self) -> Result<Untagged> {
        match self.search()? {
            Untagged::Search { ids, modseq } => Ok(Untagged::Sort { ids, modseq }),
            other => Ok(other),
        }
    }

    /// `THREAD` thread-lists: `(2)(3 6 (4 23)(44 7 96))`, `((3)(5))` for a dummy parent.
    /// Iterative, with an explicit stack; a tree deeper than [`Thread::MAX_DEPTH`] is refused.
    pub(super) fn thread(&mut self) -> Result<Untagged> {
        let mut nodes: Vec<Node> = Vec::new();
        let mut roots: Vec<usize> = Vec::new();
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            self.sp();
            match self.peek() {
                Some(b'(') => {
                    self.i += 1;
                    let parent = match stack.last_mut() {
                        None => None,
                        Some(frame) => match frame.tail {
                            Some(tail) => Some(tail),
                            // A list that opens with nested lists: their dummy parent.
                            None => {
                                let dummy = add_node(&mut nodes, &mut roots, frame, None)
                                    .map_err(|m| self.err(m))?;
                                Some(dummy)
                            }
                        },
                    };
                    stack.push(Frame { parent, tail: None });
                }
                Some(b')') => {
                    if stack.pop().is_none() {
                        return Err(self.err("unexpected ) in a THREAD answer"));
                    }
                    self.i += 1;
                }
                Some(b) if b.is_ascii_digit() => {
                    let n = self.number()?;
                    if n == 0 {
                        return Err(self.err("a THREAD answer holds the number 0"));
                    }
                    let Some(frame) = stack.last_mut() else {
                        return Err(self.err("expected ( before a THREAD member"));
                    };
                    add_node(&mut nodes, &mut roots, frame, Some(n)).map_err(|m| self.err(m))?;
                }
                _ if self.at_line_end() => {
                    if !stack.is_empty() {
                        return Err(self.err("unterminated THREAD list"));
                    }
                    break;
                }
                _ => return Err(self.err("expected a THREAD list")),
            }
        }
        Ok(Untagged::Thread(build(nodes, &roots)))
    }
}

/// Adds a node where `frame` says the next one goes; it becomes the frame's tail.
fn add_node(
    nodes: &mut Vec<Node>,
    roots: &mut Vec<usize>,
    frame: &mut Frame,
    uid: Option<u32>,
) -> std::result::Result<usize, &'static str> {
    let index = nodes.len();
    let above = frame.tail.or(frame.parent);
    let depth = match above.and_then(|a| nodes.get(a)) {
        Some(parent) => parent.depth + 1,
        None => 1,
    };
    if depth > Thread::MAX_DEPTH {
        return Err("a THREAD answer nests deeper than 1000 levels");
    }
    nodes.push(Node {
        uid,
        children: Vec::new(),
        depth,
    });
    match above.and_then(|a| nodes.get_mut(a)) {
        Some(parent) => parent.children.push(index),
        None => roots.push(index),
    }
    frame.tail = Some(index);
    Ok(index)
}

/// Turns the flat nodes into trees, last node first (its children are all built by then).
fn build(nodes: Vec<Node>, roots: &[usize]) -> Vec<Thread> {
    let mut built: Vec<Option<Thread>> = Vec::with_capacity(nodes.len());
    built.resize_with(nodes.len(), || None);
    for (index, node) in nodes.into_iter().enumerate().rev() {
        let children = node
            .children
            .iter()
            .filter_map(|&c| built.get_mut(c).and_then(Option::take))
            .collect();
        if let Some(slot) = built.get_mut(index) {
            *slot = Some(Thread::new(node.uid, children));
        }
    }
    roots
        .iter()
        .filter_map(|&r| built.get_mut(r).and_then(Option::take))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::error::Error;
    use crate::imap::codec::parse::parse_response;
    use crate::imap::types::{Response, Thread, Untagged};

    fn threads(line: &str) -> crate::error::Result<Vec<Thread>> {
        match parse_response(line.as_bytes())? {
            Response::Untagged(Untagged::Thread(t)) => Ok(t),
            other => panic!("not a THREAD answer: {other:?}"),
        }
    }

    fn leaf(n: u32) -> Thread {
        Thread::leaf(n)
    }

    fn node(n: u32, children: Vec<Thread>) -> Thread {
        Thread::new(Some(n), children)
    }

    #[test]
    fn sort_answer_keeps_the_server_order() {
        let r = parse_response(b"* SORT 2 84 882\r\n").unwrap();
        assert_eq!(
            r,
            Response::Untagged(Untagged::Sort {
                ids: vec![2, 84, 882],
                modseq: None
            })
        );
        let r = parse_response(b"* SORT 5 3 4 1 2\r\n").unwrap();
        assert!(
            matches!(r, Response::Untagged(Untagged::Sort { ids, .. }) if ids == [5, 3, 4, 1, 2])
        );
        let r = parse_response(b"* SORT\r\n").unwrap();
        assert!(matches!(r, Response::Untagged(Untagged::Sort { ids, .. }) if ids.is_empty()));
        let r = parse_response(b"* SORT 7 3 (MODSEQ 917162500)\r\n").unwrap();
        assert!(
            matches!(r, Response::Untagged(Untagged::Sort { ids, modseq: Some(917162500) }) if ids == [7, 3])
        );
    }

    /// RFC 5256 section 4's example answers, as the trees its text describes.
    #[test]
    fn rfc5256_examples() {
        // "(2)(3 6 (4 23)(44 7 96))": 3 -> 6 -> {4 -> 23, 44 -> 7 -> 96}.
        assert_eq!(
            threads("* THREAD (2)(3 6 (4 23)(44 7 96))\r\n").unwrap(),
            vec![
                leaf(2),
                node(
                    3,
                    vec![node(
                        6,
                        vec![
                            node(4, vec![leaf(23)]),
                            node(44, vec![node(7, vec![leaf(96)])])
                        ]
                    )]
                ),
            ]
        );
        // "((3)(5))": a dummy parent of 3 and 5.
        assert_eq!(
            threads("* THREAD ((3)(5))\r\n").unwrap(),
            vec![Thread::new(None, vec![leaf(3), leaf(5)])]
        );
        // The leading space of RFC 5256's "(( 3)(5))" is tolerated.
        assert_eq!(
            threads("* THREAD (( 3)(5))\r\n").unwrap(),
            vec![Thread::new(None, vec![leaf(3), leaf(5)])]
        );
        // The ORDEREDSUBJECT example: "(166)(167)(168)(169)(172)(170)(171)(173)(174 (175)(176)(178)(181)(180))(179)(177 (183)(182)(188)(184)(185)(186)(187)(189))(190)(191)(192)(193)(194 195)(196 (197)(198))(199)(200 202)(201)(203)(204)(205)(206 207)(208)".
        let t = threads("* THREAD (166)(167)(168)(169)(172)(170)(171)(173)(174 (175)(176)(178)(181)(180))(179)(177 (183)(182)(188)(184)(185)(186)(187)(189))(190)(191)(192)(193)(194 195)(196 (197)(198))(199)(200 202)(201)(203)(204)(205)(206 207)(208)\r\n").unwrap();
        assert_eq!(t.len(), 25);
        assert_eq!(
            t[8],
            node(
                174,
                vec![leaf(175), leaf(176), leaf(178), leaf(181), leaf(180)]
            )
        );
        assert_eq!(t[15], node(194, vec![leaf(195)]));
        assert_eq!(t[16], node(196, vec![leaf(197), leaf(198)]));
        assert_eq!(t[24], leaf(208));
        assert_eq!(
            t.iter().flat_map(Thread::uids).count(),
            25 + 5 + 8 + 1 + 2 + 1 + 1
        );
        // No match: an empty answer.
        assert_eq!(threads("* THREAD\r\n").unwrap(), vec![]);
        // A dummy parent deeper down: 1 -> dummy -> {2, 3}.
        assert_eq!(
            threads("* THREAD (1 ((2)(3)))\r\n").unwrap(),
            vec![node(1, vec![Thread::new(None, vec![leaf(2), leaf(3)])])]
        );
    }

    #[test]
    fn hostile_thread_answers_are_errors_not_overflows() {
        // Parentheses nested far deeper than any stack would survive by recursion.
        let deep = format!(
            "* THREAD {}1{}\r\n",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        assert!(matches!(threads(&deep), Err(Error::Protocol { .. })));
        // A chain of 100 000 messages in one list: refused past MAX_DEPTH levels.
        let chain: Vec<String> = (1..=100_000).map(|n| n.to_string()).collect();
        let line = format!("* THREAD ({})\r\n", chain.join(" "));
        assert!(matches!(threads(&line), Err(Error::Protocol { .. })));
        // Exactly MAX_DEPTH levels still parse (and drop) fine.
        let chain: Vec<String> = (1..=Thread::MAX_DEPTH).map(|n| n.to_string()).collect();
        let t = threads(&format!("* THREAD ({})\r\n", chain.join(" "))).unwrap();
        assert_eq!(t[0].uids().len(), Thread::MAX_DEPTH);
        // Broken shapes.
        for bad in [
            "* THREAD (1\r\n",
            "* THREAD 1\r\n",
            "* THREAD (1))\r\n",
            "* THREAD (0)\r\n",
            "* THREAD (1 x)\r\n",
            "* THREAD (99999999999)\r\n",
        ] {
            assert!(matches!(threads(bad), Err(Error::Protocol { .. })), "{bad}");
        }
    }
}
