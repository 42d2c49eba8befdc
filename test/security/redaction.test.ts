/**
 * Credentials in Redis URLs never reach an error message or a log, malformed URLs included
 * (issue 17, item 5), and a URL whose scheme is right is not told that its scheme is wrong.
 */
import fc from 'fast-check'
import t from 'tap'
import { RedisStore } from '../../adapters/redis.js'
import { envUrl, redactUrl } from '../../adapters/env.js'
import { loadConfig } from '../../src/energy/config.js'

const PROTOCOLS = ['redis:', 'rediss:']

function refusal(value: string): Error & { code?: string; variable?: string } {
  try {
    envUrl({ REDIS_URL: value }, 'REDIS_URL', PROTOCOLS)
  } catch (error) {
    return error as Error
  }
  throw new Error(`${value} was accepted`)
}

t.test('the malformed URLs of the fault trial: no password, and the right complaint', async (t) => {
  const slash = refusal('redis://cacheuser:pa/ss@127.0.0.1:notaport')
  t.equal(slash.code, 'E_CONFIG')
  t.equal(slash.variable, 'REDIS_URL')
  t.notMatch(slash.message, /pa\/ss|pa\b/, 'no part of the password')
  t.match(slash.message, /cacheuser:\*\*\*@127\.0\.0\.1:notaport/, 'the rest is shown to help')
  t.notMatch(slash.message, /starting with/, 'the scheme is right: it is not blamed')
  t.match(slash.message, /must be a valid redis:\/\/\[user:password@\]host/)

  t.equal(redactUrl('redis://u:s3c@ret@host:1'), 'redis://u:***@host:1', "a password holding '@'")
  t.match(refusal('http://u:s3c@ret@host:1').message, /starting with redis:\/\/ or rediss:\/\/, got "http:\/\/u:\*\*\*@host:1"/)
  t.equal(redactUrl('redis://host:6379/0?password=hunter2&db=1'), 'redis://host:6379/0?password=***&db=1')
  t.equal(redactUrl('redis://onlypassword@host'), 'redis://***@host')
  t.equal(redactUrl('redis://host:6379'), 'redis://host:6379', 'nothing to hide, nothing changed')
})

t.test('start-up (loadConfig) and RedisStore({ url }) refuse a malformed URL without its password', async (t) => {
  const url = 'redis://cacheuser:pa/ss@127.0.0.1:notaport'
  t.throws(() => loadConfig({ REDIS_URL: url }), { code: 'E_CONFIG', variable: 'REDIS_URL' })
  try {
    new RedisStore({ url, connectTimeout: 100 })
    t.fail('accepted')
  } catch (error) {
    const text = JSON.stringify({ ...(error as object), message: (error as Error).message, stack: (error as Error).stack })
    t.notMatch(text, /pa\/ss/, 'neither the message nor any field (Node keeps the input in `input`) holds it')
    t.equal((error as { code?: string }).code, 'E_OPTION')
  }
})

// Anything a user could type after the user name: the password never survives redaction.
const password = fc.string({ minLength: 4, unit: fc.constantFrom(...'abcXYZ0189/@:#?%!&=+'.split('')) })
const rest = fc.string({ maxLength: 12, unit: fc.constantFrom(...'hostHOST0123:./-'.split('')) })

t.test('property: redactUrl hides any password, whatever follows it', async (t) => {
  fc.assert(
    fc.property(fc.constantFrom('redis', 'rediss', 'http'), fc.constantFrom('', 'user'), password, rest, (scheme, user, secret, tail) => {
      fc.pre(!tail.includes(secret) && !user.includes(secret) && !scheme.includes(secret))
      const shown = redactUrl(`${scheme}://${user}:${secret}@${tail}`)
      return !shown.includes(secret)
    }),
  )
  t.pass('no password survived')
})

t.test('property: every refusal of REDIS_URL hides the password', async (t) => {
  fc.assert(
    fc.property(password, rest, (secret, tail) => {
      fc.pre(!tail.includes(secret) && !'redis://cacheuser:'.includes(secret))
      try {
        envUrl({ REDIS_URL: `redis://cacheuser:${secret}@${tail}` }, 'REDIS_URL', PROTOCOLS)
        return true
      } catch (error) {
        return !(error as Error).message.includes(secret)
      }
    }),
  )
  t.pass('no refusal showed a password')
})
