//! A started synthesis as a stream of response pieces: encoded audio as it is produced, word
//! timestamps, the final report, or the error that ended it after the headers were sent.
//! Dropping the stream (the client hung up) drops the session, which stops the plugin.

use super::{AppState, encode::Encoder, error::ApiError, session::Session};
use crate::{Event, Report, Word};
use futures_util::Stream;
use std::{collections::VecDeque, time::Duration};

pub enum Piece {
    /// Encoded bytes (possibly empty at the very end).
    Audio(Vec<u8>),
    Words(Vec<Word>),
    /// The last piece of a successful synthesis, after the encoder's final bytes.
    Done(Report),
    /// The last piece of a failed one.
    Failed(ApiError),
}

pub struct Feed {
    session: Session,
    encoder: Encoder,
    queue: VecDeque<Piece>,
    finished: bool,
    state: AppState,
    endpoint: &'static str,
    idle: Duration,
}

impl Feed {
    /// `first` is the encoding of the first chunk, already made; `idle` bounds the wait for each event.
    pub fn new(
        session: Session,
        encoder: Encoder,
        first: Vec<u8>,
        state: AppState,
        endpoint: &'static str,
        idle: Duration,
    ) -> Self {
        Self { session, encoder, queue: VecDeque::from([Piece::Audio(first)]), finished: false, state, endpoint, idle }
    }

    pub fn into_stream(self) -> impl Stream<Item = Piece> + Send + 'static {
        futures_util::stream::unfold(self, |mut feed| async move {
            let piece = feed.next_piece().await?;
            Some((piece, feed))
        })
    }

    async fn next_piece(&mut self) -> Option<Piece> {
        if let Some(piece) = self.queue.pop_front() {
            return Some(piece);
        }
        if self.finished {
            return None;
        }
        loop {
            let event = match tokio::time::timeout(self.idle, self.session.next()).await {
                Ok(event) => event,
                Err(_) => {
                    let secs = self.idle.as_secs_f64();
                    return Some(self.fail(ApiError::timeout(format!("the backend sent nothing for {secs:.0} s"))));
                }
            };
            match event {
                Some(Event::Audio(chunk)) => match self.encoder.push(&chunk) {
                    Ok(bytes) if bytes.is_empty() => continue,
                    Ok(bytes) => return Some(Piece::Audio(bytes)),
                    Err(message) => return Some(self.fail(ApiError::internal(message))),
                },
                Some(Event::Words(words)) => {
                    self.encoder.words(&words);
                    return Some(Piece::Words(words));
                }
                Some(Event::Progress(progress)) => self.encoder.progress(&progress),
                Some(Event::Done(report)) => {
                    self.finished = true;
                    return Some(match self.encoder.finish() {
                        Ok(tail) => {
                            self.queue.push_back(Piece::Done(report));
                            Piece::Audio(tail)
                        }
                        Err(message) => self.fail(ApiError::internal(message)),
                    });
                }
                Some(Event::Error(e)) => {
                    let e = ApiError::from_host(&e, self.state.settings.retry_after_secs);
                    return Some(self.fail(e));
                }
                None => return Some(self.fail(ApiError::internal("the synthesis ended without a result"))),
            }
        }
    }

    fn fail(&mut self, e: ApiError) -> Piece {
        self.finished = true;
        self.state.metrics.error(self.endpoint, &self.session.model, e.status.as_u16());
        Piece::Failed(e)
    }
}
