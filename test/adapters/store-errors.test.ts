/**
 * The classification of store failures: from Node's `code` and the Redis reply's code word, never
 * from the wording of a message when a code exists. (The real-server tests in test/security and
 * test/reliability prove each code on a live failure.)
 */
import { ReplyError } from 'ioredis'
import t from 'tap'
import { CacheError } from '../../adapters/errors.js'
import { asStoreError, describeStoreError, storeErrorCode } from '../../adapters/store-errors.js'

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code })

t.test('codes come from codes', async (t) => {
  t.equal(storeErrorCode(new ReplyError('WRONGPASS invalid username-password pair or user is disabled.')), 'E_STORE_AUTH')
  t.equal(storeErrorCode(new ReplyError('NOAUTH Authentication required.')), 'E_STORE_AUTH')
  t.equal(storeErrorCode(new ReplyError("NOPERM this user has no permissions to run the 'get' command")), 'E_STORE_NOPERM')
  t.equal(storeErrorCode(new ReplyError("OOM command not allowed when used memory > 'maxmemory'.")), 'E_STORE_OOM')
  t.equal(storeErrorCode(new ReplyError("READONLY You can't write against a read only replica.")), 'E_STORE_READONLY')
  t.equal(storeErrorCode(withCode('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN')), 'E_STORE_TLS')
  t.equal(storeErrorCode(withCode("Hostname/IP does not match certificate's altnames", 'ERR_TLS_CERT_ALTNAME_INVALID')), 'E_STORE_TLS')
  t.equal(storeErrorCode(withCode('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED')), 'E_STORE_CONNECTION')
  t.equal(storeErrorCode(new CacheError('E_STORE_TIMEOUT', 'took too long')), 'E_STORE_TIMEOUT')
})

t.test('a store that answers it cannot serve now is unavailable (E_STORE_UNAVAILABLE), with the reply as cause', async (t) => {
  for (const reply of ['LOADING Redis is loading the dataset in memory', 'MASTERDOWN Link with MASTER is down', 'CLUSTERDOWN The cluster is down', 'TRYAGAIN Multiple keys request during rehashing of slot']) {
    const original = new ReplyError(reply)
    const error = asStoreError(original, 'get')
    t.match(error, { code: 'E_STORE_UNAVAILABLE', cause: original }, reply.split(' ', 1)[0]!)
  }
})

t.test('message text alone decides nothing, except for the ioredis errors without a code', async (t) => {
  t.equal(storeErrorCode(new Error('OOM command not allowed')), undefined, 'not a Redis reply: not an OOM')
  t.equal(storeErrorCode(withCode('WRONGPASS', 'ECONNRESET')), 'E_STORE_CONNECTION', 'the code wins over the words')
  t.equal(storeErrorCode(new ReplyError('ERR unknown command')), undefined)
  t.equal(storeErrorCode(new Error('Command timed out')), 'E_STORE_TIMEOUT')
  t.equal(storeErrorCode(new Error('Connection is closed.')), 'E_STORE_CONNECTION')
  t.equal(storeErrorCode(new Error("Stream isn't writeable and enableOfflineQueue options is false")), 'E_STORE_CONNECTION')
})

t.test('the original stays as cause, and a log summary carries message and codes only', async (t) => {
  const original = withCode('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN')
  const wrapped = asStoreError(original, 'get')
  t.equal(wrapped.code, 'E_STORE_TLS')
  t.equal(wrapped.cause, original)
  const nested = new CacheError('E_STORE_TLS', 'probe failed', { cause: wrapped })
  t.same(describeStoreError(nested), {
    code: 'E_STORE_TLS',
    message: 'probe failed',
    cause: { name: 'Error', code: 'SELF_SIGNED_CERT_IN_CHAIN', message: 'self-signed certificate in certificate chain' },
  }, 'the root cause, not the wrapper')
})

t.test('a server that is not ready, and the codes a cause carries', async (t) => {
  for (const reply of ['LOADING Redis is loading the dataset in memory', 'MASTERDOWN Link with MASTER is down', 'CLUSTERDOWN The cluster is down', 'TRYAGAIN Multiple keys request during rehashing of slot']) {
    t.equal(storeErrorCode(new ReplyError(reply)), 'E_STORE_UNAVAILABLE', reply.split(' ', 1)[0] ?? reply)
  }
  t.equal(storeErrorCode(withCode('wrong version number', 'ERR_SSL_WRONG_VERSION_NUMBER')), 'E_STORE_TLS', 'a plain port spoken to in TLS')
  t.equal(storeErrorCode(withCode('socket hang up', 'ECONNRESET')), 'E_STORE_CONNECTION')
  const wrapper = new Error('Reached the max retries per request limit', { cause: withCode('connect ECONNREFUSED', 'ECONNREFUSED') })
  t.equal(storeErrorCode(wrapper), 'E_STORE_CONNECTION', 'an error without a code of its own is classified by its cause')
  const loop: Error & { cause?: unknown } = new Error('refers to itself')
  loop.cause = loop
  t.equal(storeErrorCode(loop), undefined, 'a cause that is the error itself ends the search')
  t.equal(storeErrorCode(Object.assign(new Error('odd'), { code: 42 })), undefined, 'a code that is not a string says nothing')
})

t.test('what is thrown need not be an Error', async (t) => {
  t.equal(storeErrorCode('a string'), undefined)
  t.equal(storeErrorCode(null), undefined)
  t.equal(storeErrorCode(undefined), undefined)
  const fromString = asStoreError('socket closed', 'set')
  t.match(fromString, { code: 'E_STORE', message: 'cache store set failed: socket closed', cause: 'socket closed' })
  t.same(describeStoreError('socket closed'), { code: 'E_STORE', message: 'cache store operation failed: socket closed' }, 'no cause: it is not an Error')
  const own = new CacheError('E_STORE_OOM', 'already classified')
  t.equal(asStoreError(own, 'get'), own, 'a CacheError is kept as it is')
  t.same(describeStoreError(new Error('plain')), { code: 'E_STORE', message: 'cache store operation failed: plain', cause: { name: 'Error', message: 'plain' } }, 'no code field when the cause has none')
})
