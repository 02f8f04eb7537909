//! The Lua scripts that change a session's record. Each touches the keys of one session
//! only (one hash tag, so one Redis Cluster slot) and checks owner and epoch atomically.
//!
//! Every script gets KEYS = [rec, events, seen] and ARGV[1..3] = [schema version this
//! release knows, TTL while live (ms), TTL after the end (ms)]; its own arguments follow.
//! A record written by a newer schema is never changed: the script answers `toonew`.

use std::sync::OnceLock;

use redis::Script;

/// Shared helpers, prepended to every script.
const PRELUDE: &str = r#"
local function too_new()
  local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0') or 0
  if v > tonumber(ARGV[1]) then return v end
  return nil
end
local function live(s)
  return s == 'starting' or s == 'running' or s == 'stopping'
end
local function ttl(ms)
  for i = 1, #KEYS do
    if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ms) end
  end
end
local function held(owner, epoch)
  return redis.call('HGET', KEYS[1], 'owner') == owner and redis.call('HGET', KEYS[1], 'epoch') == epoch
end
local function with_fields(status)
  local all = redis.call('HGETALL', KEYS[1])
  table.insert(all, 1, status)
  return all
end
local tn = too_new()
if tn then return {'toonew', tostring(tn)} end
"#;

/// ARGV 4.. = owner, now, name, channel, agent_uid, remote_uids, key, claim nonce. A retry
/// of a claim whose answer was lost (same nonce) is answered `mine` again.
const CLAIM: &str = r#"
local st = redis.call('HGET', KEYS[1], 'state')
if st and live(st) then
  if st == 'starting' and redis.call('HGET', KEYS[1], 'claim') == ARGV[11]
      and redis.call('HGET', KEYS[1], 'owner') == ARGV[4] then
    return with_fields('mine')
  end
  return with_fields('existing')
end
local epoch = (tonumber(redis.call('HGET', KEYS[1], 'epoch') or '0') or 0) + 1
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'key', ARGV[10], 'owner', ARGV[4], 'epoch', tostring(epoch),
  'state', 'starting', 'agent_id', '', 'name', ARGV[6], 'channel', ARGV[7], 'agent_uid', ARGV[8],
  'remote_uids', ARGV[9], 'updated_ms', ARGV[5], 'claim', ARGV[11])
ttl(ARGV[2])
return with_fields('mine')
"#;

/// ARGV 4.. = owner, epoch, agent_id, now.
const COMMIT: &str = r#"
if not held(ARGV[4], ARGV[5]) then return {'no'} end
local st = redis.call('HGET', KEYS[1], 'state')
if not live(st) then return {'no'} end
redis.call('HSET', KEYS[1], 'state', 'running', 'agent_id', ARGV[6], 'updated_ms', ARGV[7])
ttl(ARGV[2])
return {'ok'}
"#;

/// ARGV 4.. = owner, epoch, now.
const ABORT: &str = r#"
if not held(ARGV[4], ARGV[5]) then return {'no'} end
redis.call('HSET', KEYS[1], 'state', 'error', 'updated_ms', ARGV[6])
ttl(ARGV[3])
return {'ok'}
"#;

/// ARGV 4.. = me, expected owner, now.
const TAKEOVER: &str = r#"
local st = redis.call('HGET', KEYS[1], 'state')
if not st or not live(st) then return {'gone'} end
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner ~= ARGV[5] and owner ~= '' then return {'held'} end
redis.call('HINCRBY', KEYS[1], 'epoch', 1)
redis.call('HSET', KEYS[1], 'owner', ARGV[4], 'updated_ms', ARGV[6])
ttl(ARGV[2])
return with_fields('ok')
"#;

/// ARGV 4.. = owner, epoch, now.
const RELEASE: &str = r#"
if not held(ARGV[4], ARGV[5]) then return {'no'} end
redis.call('HSET', KEYS[1], 'owner', '', 'updated_ms', ARGV[6])
ttl(ARGV[2])
return {'ok'}
"#;

/// ARGV 4.. = agent_id, state, now.
const FINISH: &str = r#"
local st = redis.call('HGET', KEYS[1], 'state')
if not st or not live(st) or redis.call('HGET', KEYS[1], 'agent_id') ~= ARGV[4] then return {'no'} end
redis.call('HSET', KEYS[1], 'state', ARGV[5], 'updated_ms', ARGV[6])
ttl(ARGV[3])
return {'ok'}
"#;

/// ARGV 4.. = owner, epoch.
const CHECK: &str = r#"
if not held(ARGV[4], ARGV[5]) then return {'no'} end
if not live(redis.call('HGET', KEYS[1], 'state')) then return {'no'} end
return {'ok'}
"#;

/// ARGV 4.. = notice id ('' none), event JSON, agent_id it ends ('' none), end state, now,
/// max events.
const NOTE_EVENT: &str = r#"
if ARGV[4] ~= '' then
  if redis.call('SADD', KEYS[3], ARGV[4]) == 0 then return {'dup'} end
end
redis.call('RPUSH', KEYS[2], ARGV[5])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[9]), -1)
local st = redis.call('HGET', KEYS[1], 'state')
if ARGV[6] ~= '' and st and live(st) and redis.call('HGET', KEYS[1], 'agent_id') == ARGV[6] then
  redis.call('HSET', KEYS[1], 'state', ARGV[7], 'updated_ms', ARGV[8])
  st = ARGV[7]
end
if st and live(st) then ttl(ARGV[2]) else ttl(ARGV[3]) end
return {'ok'}
"#;

/// ARGV 4.. = owner, epoch, the agent id held, then the record's fields as name/value pairs.
/// A record that describes no live agent of another owner (the store lost the data and a
/// start that could not win the agent's name failed meanwhile) is written again with a
/// higher epoch; a live record still starting elsewhere is `contested` (ask again later).
const REESTABLISH: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 7))
  ttl(ARGV[2])
  return {'recreated', ARGV[5]}
end
local st = redis.call('HGET', KEYS[1], 'state')
if held(ARGV[4], ARGV[5]) then
  if live(st) then
    redis.call('HSET', KEYS[1], unpack(ARGV, 7))
  end
  ttl(ARGV[2])
  return {'kept', ARGV[5]}
end
local id = redis.call('HGET', KEYS[1], 'agent_id') or ''
if not live(st) and id ~= ARGV[6] then
  local epoch = (tonumber(redis.call('HGET', KEYS[1], 'epoch') or '0') or 0) + 1
  redis.call('HSET', KEYS[1], unpack(ARGV, 7))
  redis.call('HSET', KEYS[1], 'epoch', tostring(epoch))
  ttl(ARGV[2])
  return {'recreated', tostring(epoch)}
end
if live(st) and id == '' then return {'contested'} end
return {'lost', redis.call('HGET', KEYS[1], 'owner') or ''}
"#;

/// The scripts, compiled once per process.
pub(crate) struct Scripts {
    pub(crate) claim: Script,
    pub(crate) commit: Script,
    pub(crate) abort: Script,
    pub(crate) takeover: Script,
    pub(crate) release: Script,
    pub(crate) finish: Script,
    pub(crate) check: Script,
    pub(crate) note_event: Script,
    pub(crate) reestablish: Script,
}

pub(crate) fn scripts() -> &'static Scripts {
    static SCRIPTS: OnceLock<Scripts> = OnceLock::new();
    SCRIPTS.get_or_init(|| {
        let s = |body: &str| Script::new(&format!("{PRELUDE}{body}"));
        Scripts {
            claim: s(CLAIM),
            commit: s(COMMIT),
            abort: s(ABORT),
            takeover: s(TAKEOVER),
            release: s(RELEASE),
            finish: s(FINISH),
            check: s(CHECK),
            note_event: s(NOTE_EVENT),
            reestablish: s(REESTABLISH),
        }
    })
}
