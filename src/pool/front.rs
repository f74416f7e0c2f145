//! The methods [`ImapPool`](crate::imap::ImapPool) and [`Pop3Pool`](crate::pop3::Pop3Pool)
//! share: keys, clearing, statistics and options of a pool of [`Config`](crate::Config)
//! connections, written once and forwarded to the pool core.

/// Expands, inside the `impl` block of a pool of `Config` connections that keeps its
/// [`Pool`](crate::pool::Pool) in a field named `pool`, the methods every such pool has
/// beside its own `new`, `with_options`, `get` and `get_timeout`.
macro_rules! config_pool_methods {
    () => {
        /// The account `config`'s connections count against (host, port, user).
        pub fn key_for(&self, config: &$crate::config::Config) -> $crate::pool::AccountKey {
            self.pool.key_for(config)
        }

        /// The key that decides which idle connections `config` may be handed.
        pub fn reuse_key_for(&self, config: &$crate::config::Config) -> $crate::pool::ReuseKey {
            self.pool.reuse_key_for(config)
        }

        /// Closes the idle connections of `config`'s account (those of every config of the
        /// account); connections in use are closed when they come back.
        pub fn clear(&self, config: &$crate::config::Config) {
            self.pool.clear(&self.pool.key_for(config));
        }

        /// Closes every idle connection now (politely: `LOGOUT` / `QUIT`); connections in
        /// use are closed when they come back, and later checkouts open new ones.
        pub fn clear_all(&self) {
            self.pool.clear_all();
        }

        /// Statistics per account.
        pub fn stats(&self) -> Vec<($crate::pool::AccountKey, $crate::pool::AccountStats)> {
            self.pool.stats()
        }

        /// Statistics of `config`'s account (all configs of the account together).
        pub fn stats_for(&self, config: &$crate::config::Config) -> $crate::pool::AccountStats {
            self.pool.stats_for(&self.pool.key_for(config))
        }

        /// How many connections are open (idle and in use), all accounts together.
        pub fn open_connections(&self) -> usize {
            self.pool.open_connections()
        }

        /// The pool's options.
        pub fn options(&self) -> &$crate::pool::PoolOptions {
            self.pool.options()
        }
    };
}

pub(crate) use config_pool_methods;
