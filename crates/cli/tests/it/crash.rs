//! `kill -9` of `coffre serve` while uploads are in flight: after a
//! restart every acknowledged document is there and intact, nothing
//! partial is visible, and the orphan blobs are collected.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use coffre_api::{DocumentQuery, UploadParams};

use crate::{start_server as start, wait_ready, Service};

/// A distinct ~2 MB PDF-looking file.
fn file(i: usize) -> Vec<u8> {
    let mut v = format!("%PDF-1.7\n% upload {i}\n").into_bytes();
    v.extend(
        (0..2_000_000u32)
            .map(|k| (k.wrapping_mul(2_654_435_761).wrapping_add(i as u32) >> 13) as u8),
    );
    v
}

/// A body that trickles out in 64 KB pieces, so uploads stay in flight.
fn slow_body(bytes: Vec<u8>) -> reqwest::Body {
    let chunks: Vec<bytes::Bytes> = bytes
        .chunks(64 * 1024)
        .map(bytes::Bytes::copy_from_slice)
        .collect();
    let stream = futures::stream::iter(chunks).then(|c| async move {
        tokio::time::sleep(Duration::from_millis(15)).await;
        Ok::<_, std::io::Error>(c)
    });
    reqwest::Body::wrap_stream(stream)
}

use futures::StreamExt;

#[test]
fn acknowledged_uploads_survive_kill_9() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // An organisation, a roster of one, a finalised safe.
    let mut svc = Service::start("Université K", "k.example");
    let (data, port, url, key) = (svc.data.clone(), svc.port, svc.url.clone(), svc.key.clone());
    let anon = coffre_api::Client::new(&url).unwrap();
    let (session, acked, sent) = rt.block_on(async {
        let uni = anon.with_token(&key);
        let created = uni
            .import_roster("K1,Roux,Léa,2004-01-01,lea@k.example\n".into())
            .await
            .unwrap()
            .created;
        let session = crate::finalise(
            &anon,
            &data,
            "K1",
            created[0].activation_code.clone(),
            "lea@example.org",
            "crash test passphrase",
        )
        .await;
        let lea = anon.with_token(&session.token);

        // Twelve slow uploads at once; the server dies once two are acknowledged.
        let done = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..12)
            .map(|i| {
                let lea = lea.clone();
                let done = done.clone();
                tokio::spawn(async move {
                    let r = lea
                        .upload(
                            &UploadParams {
                                title: format!("scan {i}"),
                                kind: None,
                            },
                            slow_body(file(i)),
                        )
                        .await;
                    if r.is_ok() {
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                    (i, r)
                })
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(120);
        while done.load(Ordering::SeqCst) < 2 {
            assert!(Instant::now() < deadline, "no upload was acknowledged");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        (session, tasks, done)
    });
    svc.server.kill().unwrap(); // SIGKILL
    svc.server.wait().unwrap();
    let results = rt.block_on(futures::future::join_all(acked));
    let acknowledged: Vec<(usize, coffre_api::DocumentInfo)> = results
        .into_iter()
        .map(|r| r.unwrap())
        .filter_map(|(i, r)| r.ok().map(|d| (i, d)))
        .collect();
    assert!(
        acknowledged.len() >= 2 && acknowledged.len() < 12,
        "{} acknowledged",
        acknowledged.len()
    );
    let _ = sent;

    // Restart on the same data.
    svc.server = start(&data, port);
    rt.block_on(async {
        wait_ready(&url).await;
        let lea = anon.with_token(&session.token);
        let page = lea
            .documents(&DocumentQuery {
                per_page: Some(100),
                ..Default::default()
            })
            .await
            .unwrap();
        // Every acknowledged upload is there, byte for byte.
        for (i, doc) in &acknowledged {
            assert!(
                page.documents.iter().any(|d| d.id == doc.id),
                "acknowledged upload {i} is missing"
            );
            assert_eq!(
                lea.document_content(&doc.id).await.unwrap().as_ref(),
                file(*i).as_slice()
            );
        }
        // Nothing partial: whatever is listed is one of the files, whole.
        let mut listed_bytes = 0;
        for d in &page.documents {
            let bytes = lea.document_content(&d.id).await.unwrap();
            assert!(
                (0..12).any(|i| file(i) == bytes.as_ref()),
                "{} is not a whole upload",
                d.title
            );
            listed_bytes += d.size;
        }
        assert_eq!(
            lea.me().await.unwrap().used_bytes,
            listed_bytes,
            "the quota counts exactly what is there"
        );
        // Orphan blobs are collected (grace 0): only listed documents' bytes remain.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let blobs = walk(&data.join("blobs"));
            if blobs == page.documents.len() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{blobs} blobs for {} documents",
                page.documents.len()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let left: Vec<_> = std::fs::read_dir(data.join("tmp"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(left.is_empty(), "spool files left: {left:?}");
    });
}

fn walk(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .map(|e| e.unwrap().path())
        .map(|p| if p.is_dir() { walk(&p) } else { 1 })
        .sum()
}
