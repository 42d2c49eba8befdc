// ioredis listens for one 'error' per socket; a TLS handshake that fails can report two (seen as an
// uncaught ERR_SSL_TLSV1_ALERT_DECODE_ERROR in the TLS tests). RedisStore absorbs the later ones.
import { EventEmitter } from 'node:events'
import t from 'tap'
import { absorbLaterSocketErrors } from '../../adapters/redis-wire.js'

t.test('a second error on a socket whose one listener was used up is absorbed', async (t) => {
  const stream = new EventEmitter()
  const client = { stream }
  const seen: string[] = []
  stream.once('error', (error: Error) => {
    seen.push(error.message)
    absorbLaterSocketErrors(client) // what RedisStore's 'error' listener does
  })
  stream.emit('error', new Error('certificate check'))
  t.doesNotThrow(() => stream.emit('error', new Error('tlsv1 alert decode error')), 'the later error does not end the process')
  t.same(seen, ['certificate check'], 'the first error was reported as usual')
  const bare = new EventEmitter()
  t.throws(() => bare.emit('error', new Error('x')), 'without it, an error with no listener throws')
  absorbLaterSocketErrors({}) // a client with no socket yet: nothing to do
  const listening = new EventEmitter()
  listening.on('error', () => {})
  absorbLaterSocketErrors({ stream: listening })
  t.equal(listening.listenerCount('error'), 1, 'a socket someone still listens on is left alone')
})
