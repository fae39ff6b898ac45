//! Unit tests of the pipe: order, the high-water mark, the wake-up protocol, closing.

use super::*;
use crate::mailbox::Mailbox;

fn ends(hwm: usize) -> (PipeWriter, PipeReader, Arc<Mailbox>, Arc<Mailbox>) {
    let r = Mailbox::new();
    let w = Mailbox::new();
    let (pw, pr) = pipe(
        7,
        hwm,
        Notifier::Socket(r.clone()),
        Notifier::Socket(w.clone()),
    );
    (pw, pr, r, w)
}

fn drain(m: &Mailbox) -> Vec<PipeId> {
    let (mut a, mut c) = (Vec::new(), Vec::new());
    m.take(&mut a, &mut c);
    a
}

#[test]
fn messages_keep_order_and_hwm_refuses() {
    let (mut w, mut r, _rm, wm) = ends(2);
    w.try_write(Message::from("a")).unwrap();
    w.try_write(Message::from("b")).unwrap();
    assert!(matches!(
        w.try_write(Message::from("c")),
        Err(WriteError::Full(_))
    ));
    assert!(drain(&wm).is_empty());
    assert_eq!(r.try_read().unwrap(), Message::from("a"));
    assert_eq!(r.try_read().unwrap(), Message::from("b"));
    // Finding the pipe empty tells the blocked writer.
    assert_eq!(r.try_read(), Err(ReadError::Empty));
    assert_eq!(drain(&wm), vec![7]);
    w.try_write(Message::from("c")).unwrap();
    assert_eq!(r.try_read().unwrap(), Message::from("c"));
    assert_eq!(r.try_read(), Err(ReadError::Empty));
}

#[test]
fn reader_is_woken_only_after_it_found_the_pipe_empty() {
    let (mut w, mut r, rm, _wm) = ends(0);
    w.try_write(Message::from("a")).unwrap();
    assert!(drain(&rm).is_empty(), "reader never slept: no wake-up");
    r.try_read().unwrap();
    assert_eq!(r.try_read(), Err(ReadError::Empty));
    w.try_write(Message::from("b")).unwrap();
    w.try_write(Message::from("c")).unwrap();
    assert_eq!(drain(&rm), vec![7], "one wake-up for the batch");
}

#[test]
fn closing_the_writer_lets_the_reader_drain_then_see_closed() {
    let (mut w, mut r, rm, _wm) = ends(0);
    w.try_write(Message::from("a")).unwrap();
    drop(w);
    assert_eq!(drain(&rm), vec![7]);
    assert_eq!(r.try_read().unwrap(), Message::from("a"));
    assert_eq!(r.try_read(), Err(ReadError::Closed));
}

#[test]
fn closing_the_reader_fails_writes_and_wakes_the_writer() {
    let (mut w, r, _rm, wm) = ends(0);
    drop(r);
    assert_eq!(drain(&wm), vec![7]);
    assert!(matches!(
        w.try_write(Message::from("a")),
        Err(WriteError::Closed(_))
    ));
}

#[test]
fn all_taken_arms_a_wake_up_until_the_reader_drains() {
    let (mut w, mut r, _rm, wm) = ends(0);
    assert!(w.all_taken(), "nothing written");
    w.try_write(Message::from("a")).unwrap();
    w.try_write(Message::from("b")).unwrap();
    assert!(!w.all_taken());
    r.try_read().unwrap();
    assert!(!w.all_taken());
    assert!(drain(&wm).is_empty(), "one message is still unread");
    r.try_read().unwrap();
    assert_eq!(r.try_read(), Err(ReadError::Empty));
    assert_eq!(drain(&wm), vec![7], "finding it empty tells the writer");
    assert!(w.all_taken());
}

#[test]
fn write_all_reports_the_mark() {
    let (mut w, mut r, _rm, _wm) = ends(3);
    let mut batch = vec![Message::from("a"), Message::from("b")];
    assert_eq!(w.write_all(&mut batch), Ok(false));
    let mut batch = vec![Message::from("c"), Message::from("d")];
    assert_eq!(w.write_all(&mut batch), Ok(true));
    for want in ["a", "b", "c", "d"] {
        assert_eq!(r.try_read().unwrap(), Message::from(want));
    }
}

#[test]
fn threads_exchange_a_million_messages_in_order() {
    let r_mb = Mailbox::new();
    let w_mb = Mailbox::new();
    let (mut w, mut r) = pipe(
        1,
        100,
        Notifier::Socket(r_mb.clone()),
        Notifier::Socket(w_mb.clone()),
    );
    const N: u64 = 200_000;
    let writer = std::thread::spawn(move || {
        let (mut a, mut c) = (Vec::new(), Vec::new());
        for i in 0..N {
            let mut msg = Message::from(i.to_le_bytes().to_vec());
            loop {
                match w.try_write(msg) {
                    Ok(()) => break,
                    Err(WriteError::Full(m)) => {
                        msg = m;
                        w_mb.wait(None);
                        a.clear();
                        w_mb.take(&mut a, &mut c);
                    }
                    Err(WriteError::Closed(_)) => panic!("reader vanished"),
                }
            }
        }
    });
    let (mut a, mut c) = (Vec::new(), Vec::new());
    let mut next = 0u64;
    loop {
        match r.try_read() {
            Ok(m) => {
                assert_eq!(m[0][..], next.to_le_bytes());
                next += 1;
            }
            Err(ReadError::Empty) => {
                r_mb.wait(None);
                a.clear();
                r_mb.take(&mut a, &mut c);
            }
            Err(ReadError::Closed) => break,
        }
    }
    assert_eq!(next, N);
    writer.join().unwrap();
}
