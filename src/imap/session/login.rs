//! From greeting to login: the greeting, STARTTLS, capabilities, the literal mode and the SASL / LOGIN exchange.

use super::*;
use crate::throttle;

/// The probe sent when the greeting is late (`net::probe`): a command any IMAP server
/// answers in any state, under a tag the session never uses (its tags are `A1`, `A2`, …).
const PROBE: &[u8] = b"P0 NOOP\r\n";
/// The probe's tag.
const PROBE_TAG: &str = "P0";
/// How many responses may come before the probe's tagged answer (a NOOP has no reason to
/// bring more than a few untagged ones).
const MAX_PROBE_ANSWER: usize = 16;

/// How many characters of the server's `ID` answer are logged.
const MAX_ID_LOGGED: usize = 512;

// The bound a custom mechanism's docs promise is the one the exchange applies.
const _: () = assert!(MAX_SASL_CHALLENGES == sasl::MAX_CHALLENGES);

impl Session {
    pub(super) fn greet(&mut self) -> Result<()> {
        let probed = net::probe::await_plain_greeting(
            &mut self.transport,
            PROBE,
            "P0 NOOP (probe: does the port speak TLS?)",
            "use Security::Tls for it (IMAP's implicit-TLS port is 993), or keep Security::StartTls / Security::Plain and connect to the plaintext port (143)",
        )?;
        let greeted = self.read_greeting();
        if greeted.is_ok() && probed == net::probe::Greeting::AfterProbe {
            self.drop_probe_answer()?;
        }
        greeted
    }

    /// Reads and drops the server's answer to the probe a late greeting made the connect
    /// send (`net::probe`): responses up to the one tagged `P0`, at most
    /// [`MAX_PROBE_ANSWER`] of them, within the connect bound.
    fn drop_probe_answer(&mut self) -> Result<()> {
        for _ in 0..MAX_PROBE_ANSWER {
            if let Response::Tagged { tag, .. } =
                self.read_response("waiting for the answer to the TLS probe")?
                && tag == PROBE_TAG
            {
                return Ok(());
            }
        }
        self.transport.shutdown();
        Err(Error::protocol(
            format!(
                "the server sent {MAX_PROBE_ANSWER} responses after its greeting without answering the NOOP probe"
            ),
            &[],
            0,
        ))
    }

    fn read_greeting(&mut self) -> Result<()> {
        let response = self.read_response("waiting for the greeting")?;
        match response {
            Response::Untagged(Untagged::Condition { status, code, text }) => {
                if let Some(ResponseCode::Capability(caps)) = code.clone() {
                    self.caps = Capabilities::new(caps);
                }
                match status {
                    Status::Ok => {
                        self.state = ConnectionState::NotAuthenticated;
                        Ok(())
                    }
                    Status::PreAuth => {
                        self.state = ConnectionState::Authenticated;
                        Ok(())
                    }
                    Status::Bye => {
                        self.state = ConnectionState::Logout;
                        Err(Error::Server {
                            status: ServerStatus::Bye,
                            command: "greeting".into(),
                            code: code.as_ref().map(code_text),
                            text,
                        })
                    }
                    _ => Err(Error::protocol(
                        format!("unexpected greeting status {status:?}"),
                        text.as_bytes(),
                        0,
                    )),
                }
            }
            other => Err(Error::protocol(
                format!(
                    "expected a greeting (* OK / * PREAUTH / * BYE), got {}",
                    describe(&other)
                ),
                &[],
                0,
            )),
        }
    }

    pub(super) fn start_tls(mut self) -> Result<Session> {
        if self.caps.is_empty() {
            self.refresh_capabilities()?;
        }
        if !self.caps.has("STARTTLS") {
            self.transport.shutdown();
            return Err(Error::StartTlsUnavailable {
                command: "STARTTLS",
            });
        }
        self.run(&Command::StartTls)?.into_result("STARTTLS")?;
        if !self.framer.is_idle() {
            let pending = self.framer.buffer().len();
            self.transport.shutdown();
            return Err(Error::Protocol {
                message: format!(
                    "the server sent {pending} unencrypted bytes after accepting STARTTLS, before the TLS handshake (possible response injection); the connection was closed"
                ),
                excerpt: crate::error::escape_bytes(
                    self.framer.buffer().get(..48.min(pending)).unwrap_or(&[]),
                ),
                offset: 0,
            });
        }
        let Session {
            transport,
            config,
            next_tag,
            ..
        } = self;
        let transport = transport.start_tls(&config)?;
        let mut session = Session::new(transport, &config);
        session.next_tag = next_tag;
        // Anything learnt before TLS is forgotten (RFC 3501 §6.2.1).
        session.refresh_capabilities()?;
        Ok(session)
    }

    /// Asks the server for its capabilities.
    pub(crate) fn refresh_capabilities(&mut self) -> Result<()> {
        let completion = self.run(&Command::Capability)?.into_result("CAPABILITY")?;
        for response in completion.untagged {
            if let Untagged::Capability(caps) = response {
                self.caps = Capabilities::new(caps);
            }
        }
        self.add_imap4rev2_implied();
        Ok(())
    }

    pub(super) fn update_literal_mode(&mut self) {
        let literal = if self.caps.has("LITERAL+") {
            LiteralMode::Plus
        } else if self.caps.has("LITERAL-") {
            LiteralMode::Minus
        } else {
            LiteralMode::Synchronizing
        };
        self.encode_options = self.encode_options.with_literal(literal);
    }

    /// Whether `ENABLE UTF8=ACCEPT` succeeded (mailbox names are UTF-8 both ways).
    pub(crate) fn utf8_accept(&self) -> bool {
        self.encode_options.utf8_accept
    }

    /// Turns on UTF-8 mailbox names after a successful `ENABLE UTF8=ACCEPT`.
    pub(crate) fn set_utf8_accept(&mut self, on: bool) {
        self.encode_options = self.encode_options.with_utf8_accept(on);
    }

    fn choose_mechanism(&self, credentials: &Credentials) -> Result<Option<Mechanism>> {
        let offered = self.caps.auth_mechanisms();
        if let Some(wanted) = self.config.auth_mechanism() {
            return Ok(match wanted {
                // The LOGIN command; SASL LOGIN only when the command is disabled.
                Mechanism::Login if !self.caps.has("LOGINDISABLED") => None,
                other => Some(other),
            });
        }
        match credentials {
            // SCRAM-SHA-256 > SCRAM-SHA-1 > PLAIN > the LOGIN command > SASL LOGIN >
            // CRAM-MD5 (the rule of docs/security.md).
            Credentials::Password { .. } => {
                if let Some(best) = sasl::best_password(&offered) {
                    Ok(Some(best))
                } else if !self.caps.has("LOGINDISABLED") {
                    Ok(None)
                } else {
                    sasl::choose(&offered, credentials).map(Some)
                }
            }
            _ => sasl::choose(&offered, credentials).map(Some),
        }
    }

    /// Logs in with `credentials`, choosing the mechanism (see [`Config`]).
    pub(crate) fn authenticate(&mut self, credentials: &Credentials) -> Result<()> {
        self.update_literal_mode();
        let mechanism = match credentials {
            Credentials::Custom(_) => None,
            _ => self.choose_mechanism(credentials)?,
        };
        let (name, result) = match (mechanism, credentials) {
            (_, Credentials::Custom(custom)) => (
                format!("AUTHENTICATE {}", custom.name()),
                self.run_custom(custom),
            ),
            (None, _) => {
                if self.caps.has("LOGINDISABLED") {
                    return Err(Error::invalid(
                        "authentication",
                        "the server disabled LOGIN (LOGINDISABLED) and offers no usable SASL mechanism; use TLS or STARTTLS",
                    ));
                }
                let Credentials::Password { user, password } = credentials else {
                    return Err(Error::invalid("authentication", "LOGIN needs a password"));
                };
                let command =
                    Command::login(user.clone(), Secret::new(password.as_bytes().to_vec()));
                ("LOGIN".to_string(), self.run(&command))
            }
            (Some(mechanism), _) => (
                format!("AUTHENTICATE {}", mechanism.name()),
                self.run_authenticate(mechanism, credentials),
            ),
        };
        let completion = match result {
            // A BYE in answer to the credentials is the server refusing them: never retried
            // (each retry would send the password again and bring an account lockout
            // closer) — unless it says "too many / too fast, later" (throttling).
            Err(Error::Server {
                status: ServerStatus::Bye,
                code,
                text,
                ..
            }) => {
                return Err(if throttle::classify(code.as_deref(), &text).is_some() {
                    Error::Server {
                        status: ServerStatus::Bye,
                        command: name,
                        code,
                        text,
                    }
                } else {
                    Error::Auth {
                        mechanism: name,
                        text: match code {
                            Some(code) => format!("BYE [{code}] {text}"),
                            None => format!("BYE {text}"),
                        },
                    }
                });
            }
            other => other?,
        };
        match completion.status {
            Status::Ok => {
                self.state = ConnectionState::Authenticated;
                log::debug!(target: "mailwire::imap", "[{}] logged in as {} ({name})", self.id(), credentials.user());
                match &completion.code {
                    Some(ResponseCode::Capability(caps)) => {
                        self.caps = Capabilities::new(caps.clone())
                    }
                    _ => self.refresh_capabilities()?,
                }
                self.update_literal_mode();
                Ok(())
            }
            _ => {
                let code = completion.code.as_ref().map(code_text);
                // Throttling ("too many simultaneous connections", UNAVAILABLE, …) and
                // SERVERBUG are the server's state, not a verdict on the credentials: a
                // transient `Server` error, so a retry or a pool backs off and tries again.
                let server_bug = matches!(&completion.code, Some(ResponseCode::Other { name, .. }) if name == "SERVERBUG");
                let throttled = throttle::classify(code.as_deref(), &completion.text).is_some();
                if (throttled || server_bug) && completion.status != Status::Bye {
                    Err(Error::Server {
                        status: if completion.status == Status::Bad {
                            ServerStatus::Bad
                        } else {
                            ServerStatus::No
                        },
                        command: name,
                        code,
                        text: completion.text,
                    })
                } else {
                    Err(Error::Auth {
                        mechanism: name,
                        text: match code {
                            Some(code) => format!("[{code}] {}", completion.text),
                            None => completion.text,
                        },
                    })
                }
            }
        }
    }

    /// Sends the configured `ID` fields when the server offers `ID` (RFC 2971) and logs
    /// the server's answer. A `NO` / `BAD` answer is logged, not an error: `ID` is
    /// informational, and a server that refuses it will say so at the next command.
    pub(super) fn send_client_id(&mut self) -> Result<()> {
        let Some((name, version)) = self.config.client_id() else {
            return Ok(());
        };
        if !self.caps.has("ID") {
            log::debug!(target: "mailwire::imap", "[{}] the server does not offer ID; client_id not sent", self.id());
            return Ok(());
        }
        let fields = vec![
            ("name".to_string(), Some(name.to_string())),
            ("version".to_string(), Some(version.to_string())),
        ];
        let completion = self.run(&Command::Id(fields))?;
        if completion.status != Status::Ok {
            log::debug!(target: "mailwire::imap", "[{}] the server refused ID: {}", self.id(), escaped(&completion.text));
            return Ok(());
        }
        for untagged in &completion.untagged {
            if let Untagged::Id(server) = untagged {
                let text: Vec<String> = server
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("NIL")))
                    .collect();
                let text: String = text.join(" ").chars().take(MAX_ID_LOGGED).collect();
                log::debug!(target: "mailwire::imap", "[{}] server ID: {}", self.id(), escaped(&text));
            }
        }
        Ok(())
    }

    fn run_authenticate(
        &mut self,
        mechanism: Mechanism,
        credentials: &Credentials,
    ) -> Result<Completion> {
        if let Some(exchange) = sasl::Exchange::start(mechanism, credentials)? {
            return self.run_exchange(mechanism.name(), exchange);
        }
        let host = self.config.tls_server_name().to_string();
        let port = self.config.port(Protocol::Imap);
        let user = credentials.user().to_string();
        let secret = credentials.secret().to_string();
        let responses: Vec<String> = match mechanism {
            Mechanism::Login => sasl::login(&user, &secret).to_vec(),
            other => vec![sasl::initial_response(other, credentials, &host, port)?],
        };
        let sasl_ir = self.caps.has("SASL-IR") && mechanism != Mechanism::Login;
        let mut pending = responses.into_iter();
        let initial = match if sasl_ir { pending.next() } else { None } {
            Some(b64) => Some(Secret::new(crate::base64::decode(b64.as_bytes())?)),
            None => None,
        };
        let command = Command::Authenticate {
            mechanism: mechanism.name().to_string(),
            initial_response: initial,
        };
        let mut failed_challenge = false;
        let mut challenges = 0;
        self.run_with(&command, |_, continuation| {
            challenges += 1;
            if challenges > MAX_SASL_CHALLENGES {
                return Err(Error::protocol(
                    format!(
                        "the server sent more than {MAX_SASL_CHALLENGES} authentication challenges"
                    ),
                    &[],
                    0,
                ));
            }
            let answer = if failed_challenge {
                // After an error challenge the client must answer, then gets NO.
                String::new()
            } else if let Some(next) = pending.next() {
                next
            } else {
                // An error challenge (XOAUTH2 / OAUTHBEARER send a base64 JSON status).
                failed_challenge = true;
                log::debug!(target: "mailwire::imap", "authentication challenge after the last response: {}", escaped(sasl::decode_error_challenge(&continuation.text)));
                sasl::error_acknowledgement(mechanism).to_string()
            };
            Ok(codec::sasl_line(&answer))
        })
    }

    /// `AUTHENTICATE` with the application's own mechanism ([`Credentials::custom`]): the
    /// server must offer it (checked before anything is sent), then a fresh instance runs
    /// as any challenge-driven exchange.
    fn run_custom(&mut self, custom: &sasl::CustomMechanism) -> Result<Completion> {
        sasl::require_offered(&self.caps.auth_mechanisms(), custom.name())?;
        let context = sasl::SaslContext {
            protocol: Protocol::Imap,
            host: self.config.host().to_string(),
            port: self.config.port(Protocol::Imap),
            user: custom.user().to_string(),
        };
        let exchange = sasl::Exchange::Custom(custom.begin(&context)?);
        self.run_exchange(custom.name(), exchange)
    }

    /// `AUTHENTICATE` for a challenge-driven mechanism (SCRAM, CRAM-MD5, a custom one):
    /// each server challenge is answered by the [`sasl::Exchange`], at most
    /// `MAX_SASL_CHALLENGES` of them; a malformed challenge, a server that fails SCRAM's
    /// proof or a custom mechanism's error cancels the exchange (`*`) and is the error
    /// returned, and an OK from a SCRAM server that did not prove it knows the password is
    /// [`Error::Auth`].
    fn run_exchange(
        &mut self,
        mechanism: &str,
        mut exchange: sasl::Exchange,
    ) -> Result<Completion> {
        let name = format!("AUTHENTICATE {mechanism}");
        let initial = exchange.initial_response();
        let sasl_ir = self.caps.has("SASL-IR") && initial.is_some();
        let mut unsent = if sasl_ir { None } else { initial.clone() };
        let command = Command::Authenticate {
            mechanism: mechanism.to_string(),
            initial_response: match initial.filter(|_| sasl_ir) {
                Some(b64) => Some(Secret::new(crate::base64::decode(b64.as_bytes())?)),
                None => None,
            },
        };
        let mut challenges = 0;
        let mut broken: Option<Error> = None;
        let id = self.id().to_string();
        let completion = self.run_with(&command, |_, continuation| {
            challenges += 1;
            if challenges > MAX_SASL_CHALLENGES {
                return Err(Error::protocol(
                    format!(
                        "the server sent more than {MAX_SASL_CHALLENGES} authentication challenges"
                    ),
                    &[],
                    0,
                ));
            }
            if let Some(first) = unsent.take() {
                return Ok(codec::sasl_line(&first));
            }
            if broken.is_some() {
                return Ok(codec::sasl_line("*"));
            }
            let answer = match exchange.respond(&continuation.text) {
                Ok(answer) => answer,
                Err(e) => {
                    log::debug!(target: "mailwire::imap", "[{id}] {mechanism} exchange cancelled: {e}");
                    broken = Some(e);
                    "*".to_string()
                }
            };
            Ok(codec::sasl_line(&answer))
        })?;
        if let Some(e) = broken.or_else(|| exchange.failure(&name)) {
            return Err(e);
        }
        if completion.status == Status::Ok {
            exchange.verified(&name)?;
        }
        Ok(completion)
    }
}
