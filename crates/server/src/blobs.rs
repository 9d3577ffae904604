//! Document bytes, content-addressed by SHA-256, in a local folder or any
//! S3-compatible store through `object_store` (the same code path).
//! A blob is written before the row that names it commits; blobs no row
//! names are collected by [`Blobs::collect_orphans`].

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

#[derive(Clone, Debug)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    /// The folder of a local store: its files are flushed to disk before a
    /// write is acknowledged (S3 acknowledges only what it has stored).
    local: Option<PathBuf>,
    /// The blob folders whose parents were flushed since start.
    flushed: Arc<Mutex<HashSet<PathBuf>>>,
}

impl Blobs {
    /// `None`: `DATA_DIR/blobs`. `s3://bucket` reads the usual AWS
    /// variables; `endpoint`, `region` and `allow_http` may be given as query
    /// parameters (`s3://bucket?endpoint=http://127.0.0.1:9000&allow_http=true`).
    pub fn open(url: Option<&str>, data_dir: &Path) -> Result<Blobs> {
        let mut local = None;
        let store: Arc<dyn ObjectStore> = match url {
            None => {
                let dir = data_dir.join("blobs");
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                remove_staged(&dir);
                local = Some(dir.canonicalize()?);
                Arc::new(LocalFileSystem::new_with_prefix(&dir).context("opening the blob folder")?)
            }
            Some(u) if u.starts_with("s3://") => {
                let parsed = url::Url::parse(u).context("parsing --blob-url")?;
                let bucket = parsed
                    .host_str()
                    .context("--blob-url needs a bucket: s3://bucket")?;
                let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
                for (k, v) in parsed.query_pairs() {
                    b = match k.as_ref() {
                        "endpoint" => b.with_endpoint(v.as_ref()),
                        "region" => b.with_region(v.as_ref()),
                        "allow_http" => b.with_allow_http(v == "true"),
                        "access_key_id" => b.with_access_key_id(v.as_ref()),
                        "secret_access_key" => b.with_secret_access_key(v.as_ref()),
                        other => anyhow::bail!("unknown --blob-url parameter {other}"),
                    };
                }
                Arc::new(b.build().context("configuring the S3 store")?)
            }
            Some(u) => {
                let dir = Path::new(u.strip_prefix("file://").unwrap_or(u));
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                local = Some(dir.canonicalize()?);
                Arc::new(LocalFileSystem::new_with_prefix(dir).context("opening the blob folder")?)
            }
        };
        Ok(Blobs {
            store,
            local,
            flushed: Arc::default(),
        })
    }

    fn key(sha256_hex: &str) -> StorePath {
        StorePath::from(format!(
            "sha256/{}/{}",
            &sha256_hex[..2.min(sha256_hex.len())],
            sha256_hex
        ))
    }

    /// Stores `bytes` under their digest (idempotent) and returns it.
    pub async fn put(&self, bytes: Bytes) -> Result<String> {
        let sha = coffre_seal::hex(&coffre_seal::sha256(&bytes));
        let opts = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        let key = Self::key(&sha);
        // Already there may mean "being deleted": if it is gone by the time
        // it is flushed, it is stored again.
        for _ in 0..3 {
            match self
                .store
                .put_opts(&key, PutPayload::from(bytes.clone()), opts.clone())
                .await
            {
                Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => {}
                Err(e) => return Err(e).context("storing a blob"),
            }
            if self.flushed_unless_gone(&key, &sha).await? {
                return Ok(sha);
            }
        }
        anyhow::bail!("blob {sha} was deleted each time it was stored")
    }

    /// Flushes the blob; `false` when it is no longer there (a deletion
    /// took it meanwhile).
    async fn flushed_unless_gone(&self, key: &StorePath, sha256_hex: &str) -> Result<bool> {
        match self.flush(key).await {
            Ok(()) => Ok(true),
            Err(_) if !self.exists(sha256_hex).await? => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// On a local store: the blob's bytes and the folders that name it are
    /// on disk, so that a power cut after the acknowledgement loses nothing.
    async fn flush(&self, key: &StorePath) -> Result<()> {
        let Some(root) = &self.local else {
            return Ok(());
        };
        let file = key
            .parts()
            .fold(root.clone(), |p, part| p.join(part.as_ref()));
        let root = root.clone();
        let flushed = Arc::clone(&self.flushed);
        tokio::task::spawn_blocking(move || -> Result<()> {
            std::fs::File::open(&file)
                .and_then(|f| f.sync_all())
                .with_context(|| format!("flushing {}", file.display()))?;
            // A folder's entries reach the disk when the folder is synced
            // (Unix; Windows cannot open a folder as a file): the blob's
            // folder every time; the folders above it the first time this
            // process meets that folder, which covers its creation.
            #[cfg(unix)]
            if let Some(parent) = file.parent() {
                let first = flushed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(parent.to_owned());
                let upto = if first { usize::MAX } else { 1 };
                for dir in file
                    .ancestors()
                    .skip(1)
                    .take_while(|d| d.starts_with(&root))
                    .take(upto)
                {
                    std::fs::File::open(dir)
                        .and_then(|f| f.sync_all())
                        .with_context(|| format!("flushing {}", dir.display()))?;
                }
            }
            Ok(())
        })
        .await
        .context("flushing a blob")?
    }

    /// Stores the file at `path`, whose digest is `sha256_hex`, in parts so
    /// that memory does not grow with its size (idempotent).
    pub async fn put_file(&self, path: &Path, sha256_hex: &str, size: u64) -> Result<()> {
        use tokio::io::AsyncReadExt;
        const PART: usize = 8 << 20;
        let key = Self::key(sha256_hex);
        // Another upload of the same bytes may still be writing it, or a
        // deletion taking it.
        if self.store.head(&key).await.is_ok() && self.flushed_unless_gone(&key, sha256_hex).await?
        {
            return Ok(());
        }
        let mut file = tokio::fs::File::open(path)
            .await
            .with_context(|| format!("opening {}", path.display()))?;
        if size as usize <= PART {
            let mut buf = Vec::with_capacity(size as usize);
            file.read_to_end(&mut buf).await?;
            return self.put(Bytes::from(buf)).await.map(|_| ());
        }
        let mut upload = self
            .store
            .put_multipart(&key)
            .await
            .context("starting a multipart upload")?;
        loop {
            let mut buf = Vec::with_capacity(PART);
            while buf.len() < PART {
                let n = (&mut file)
                    .take((PART - buf.len()) as u64)
                    .read_to_end(&mut buf)
                    .await?;
                if n == 0 {
                    break;
                }
            }
            if buf.is_empty() {
                break;
            }
            if let Err(e) = upload.put_part(PutPayload::from(buf)).await {
                let _ = upload.abort().await;
                return Err(e).context("uploading a part");
            }
        }
        upload
            .complete()
            .await
            .context("completing a multipart upload")?;
        self.flush(&key).await
    }

    pub async fn get(&self, sha256_hex: &str) -> Result<Bytes> {
        let got = self
            .store
            .get(&Self::key(sha256_hex))
            .await
            .context("reading a blob")?;
        got.bytes().await.context("reading a blob")
    }

    /// The blob's bytes as a stream of chunks.
    pub async fn get_stream(
        &self,
        sha256_hex: &str,
    ) -> Result<futures::stream::BoxStream<'static, object_store::Result<Bytes>>> {
        let got = self
            .store
            .get(&Self::key(sha256_hex))
            .await
            .context("reading a blob")?;
        Ok(got.into_stream())
    }

    /// Whether the blob is there.
    pub async fn exists(&self, sha256_hex: &str) -> Result<bool> {
        match self.store.head(&Self::key(sha256_hex)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e).context("looking for a blob"),
        }
    }

    /// The first half of a deletion: the blob moves to `trash/`, where
    /// readers no longer find it but it can still be put back. `None` when
    /// it was not there (another deletion has it).
    pub async fn set_aside(&self, sha256_hex: &str) -> Result<Option<Aside>> {
        let nonce: u64 = rand::random();
        // The name says when: a rename keeps the file's own time.
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let aside = Aside {
            sha256: sha256_hex.to_owned(),
            path: StorePath::from(format!("trash/{sha256_hex}.{since}.{nonce:016x}")),
            since: since as i64,
        };
        match self.store.rename(&Self::key(sha256_hex), &aside.path).await {
            Ok(()) => Ok(Some(aside)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e).context("setting a blob aside"),
        }
    }

    /// A blob set aside goes back where it was (a document named it
    /// meanwhile). Its bytes are those of its name, so it may replace a
    /// copy stored again meanwhile.
    pub async fn put_back(&self, aside: &Aside) -> Result<()> {
        let key = Self::key(&aside.sha256);
        match self.store.rename(&aside.path, &key).await {
            Ok(()) => {}
            // Put back already (by the clean-up at start, say).
            Err(object_store::Error::NotFound { .. }) if self.exists(&aside.sha256).await? => {}
            Err(e) => return Err(e).context("putting a blob back"),
        }
        self.flush(&key).await
    }

    /// The second half of a deletion.
    pub async fn discard(&self, aside: &Aside) -> Result<()> {
        match self.store.delete(&aside.path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e).context("deleting a blob"),
        }
    }

    /// Blobs set aside by deletions (a crash may have cut one between its
    /// two halves); `Aside::since` says when.
    pub async fn list_aside(&self) -> Result<Vec<Aside>> {
        Ok(self
            .list_under("trash")
            .await?
            .into_iter()
            .filter_map(|m| {
                let name = m.location.filename()?;
                let mut parts = name.split('.');
                let sha = parts.next()?;
                let since = parts.next()?.parse().ok()?;
                Some(Aside {
                    sha256: sha.to_owned(),
                    path: m.location.clone(),
                    since,
                })
            })
            .collect())
    }

    /// Every stored digest with when it was written (Unix seconds).
    pub async fn list_with_times(&self) -> Result<Vec<(String, i64)>> {
        Ok(self
            .list_under("sha256")
            .await?
            .into_iter()
            .filter_map(|m| {
                m.location
                    .filename()
                    .map(|f| (f.to_owned(), m.last_modified.timestamp()))
            })
            .collect())
    }

    async fn list_under(&self, prefix: &str) -> Result<Vec<object_store::ObjectMeta>> {
        self.store
            .list(Some(&StorePath::from(prefix)))
            .try_collect()
            .await
            .with_context(|| format!("listing {prefix}/"))
    }

    /// Every stored digest.
    pub async fn list(&self) -> Result<Vec<String>> {
        Ok(self
            .list_with_times()
            .await?
            .into_iter()
            .map(|(sha, _)| sha)
            .collect())
    }
}

/// A blob moved out of the way by [`Blobs::set_aside`].
#[derive(Debug)]
pub struct Aside {
    pub sha256: String,
    path: StorePath,
    /// When it was set aside (Unix seconds).
    pub since: i64,
}

/// A local store writes `NAME#N` and renames it when complete; a crash
/// mid-write leaves the staged file behind. Nothing acknowledged is ever
/// staged, so they are deleted when the store opens.
fn remove_staged(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            remove_staged(&path);
        } else if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().contains('#'))
        {
            let _ = std::fs::remove_file(&path);
        }
    }
}
