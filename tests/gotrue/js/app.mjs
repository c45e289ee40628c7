// One application on supabase-js against bkg-db: two users sign up and in with the anon key,
// refresh, read and update themselves, write their own todos under RLS (a forged owner is
// refused), hear their own inserts over realtime and never the other's, keep a file in their
// own storage folder, and sign out. Prints every step's outcome as one JSON object.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer } from 'node:http'
import { createClient } from '@supabase/supabase-js'

const cfg = JSON.parse(process.argv[2])
const out = { heard: { alice: [], bob: [] }, states: {} }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const options = { auth: { persistSession: false, autoRefreshToken: false } }
// bob's client keeps supabase-js's defaults (a session kept in memory, refreshed by a timer)
const users = { alice: createClient(cfg.url, cfg.anon_key, options), bob: createClient(cfg.url, cfg.anon_key) }
const { alice, bob } = users
const events = { alice: [], bob: [] }
for (const [name, client] of Object.entries(users)) {
  client.auth.onAuthStateChange((event) => events[name].push(event))
}

const brief = (r) => {
  const error = r.error
    ? { message: r.error.message, code: r.error.code ?? null, status: r.error.status ?? null, name: r.error.name }
    : null
  return { data: r.data ?? null, error, status: r.status ?? null }
}
const step = async (name, pending) => {
  try {
    out[name] = brief(await pending)
  } catch (e) {
    out[name] = { data: null, error: { message: String(e), code: 'thrown' }, status: null }
  }
  return out[name]
}
const sessionOf = (r) => r.data?.session ?? null

// accounts
await step('signUpAlice', alice.auth.signUp({ email: 'Alice@Example.com', password: 'alice-pass', options: { data: { n: 1 } } }))
await step('signUpBob', bob.auth.signUp({ email: 'bob@example.com', password: 'bob-pass' }))
await step('signUpTaken', createClient(cfg.url, cfg.anon_key, options).auth.signUp({ email: 'bob@example.com', password: 'other-pass' }))
await step('wrongPassword', createClient(cfg.url, cfg.anon_key, options).auth.signInWithPassword({ email: 'alice@example.com', password: 'nope-nope' }))
// a server-side app's client (PKCE flow, a redirect): the extra fields change nothing here
const carol = createClient(cfg.url, cfg.anon_key, { auth: { ...options.auth, flowType: 'pkce' } })
await step('signUpPkce', carol.auth.signUp({ email: 'carol@example.com', password: 'carol-pass', options: { emailRedirectTo: 'http://app.test/welcome' } }))
await step('signInPkce', carol.auth.signInWithPassword({ email: 'carol@example.com', password: 'carol-pass' }))
await step('changeEmail', carol.auth.updateUser({ email: 'carol@example.org' }))
await step('signInNewEmail', createClient(cfg.url, cfg.anon_key, options).auth.signInWithPassword({ email: 'carol@example.org', password: 'carol-pass' }))
await step('signOutOthers', carol.auth.signOut({ scope: 'others' }))
await step('userAfterSignOutOthers', carol.auth.getUser())
const signedIn = await step('signIn', alice.auth.signInWithPassword({ email: 'alice@example.com', password: 'alice-pass' }))
const firstRefresh = sessionOf(signedIn)?.refresh_token
const refreshed = await step('refresh', alice.auth.refreshSession())
out.refreshRotated = Boolean(firstRefresh) && sessionOf(refreshed)?.refresh_token !== firstRefresh
out.sessionAfterRefresh = (await alice.auth.getSession()).data.session?.access_token === sessionOf(refreshed)?.access_token
await step('getUser', alice.auth.getUser())
await step('updateUser', alice.auth.updateUser({ data: { theme: 'dark' } }))
await step('getUserAfterUpdate', alice.auth.getUser())
await step('getClaims', alice.auth.getClaims())
const ids = {
  alice: out.getUser.data?.user?.id,
  bob: (await bob.auth.getUser()).data.user?.id,
}
out.ids = ids

// realtime: each user listens to the todos table with its own token (set by the client on sign-in)
const subscribed = (channel, name) =>
  new Promise((resolve) => {
    channel.subscribe((status, err) => {
      out.states[name] = out.states[name] ?? status + (err ? ': ' + err.message : '')
      if (status !== 'CLOSED') resolve(status)
    })
  })
const heardAt = {}
for (const [name, client] of Object.entries(users)) {
  const channel = client
    .channel('todos-' + name)
    .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'todos' }, (p) => {
      heardAt[name] = heardAt[name] ?? Date.now()
      out.heard[name].push({ id: p.new.id, owner: p.new.owner, eventType: p.eventType })
    })
  await subscribed(channel, name)
}

// a refresh while subscribed: the client hands the new access token to its channels
await step('refreshSubscribed', alice.auth.refreshSession())
await sleep(50)

// data: own rows only, a forged owner refused
const started = Date.now()
await step('insertAlice', alice.from('todos').insert({ id: 1, owner: ids.alice, title: 'a' }).select('id, owner'))
await step('insertBob', bob.from('todos').insert({ id: 2, owner: ids.bob, title: 'b' }).select('id'))
await step('selectAlice', alice.from('todos').select('id, owner').order('id'))
await step('selectBob', bob.from('todos').select('id').order('id'))
await step('forged', alice.from('todos').insert({ id: 3, owner: ids.bob, title: 'forged' }))
while ((!heardAt.alice || !heardAt.bob) && Date.now() - started < 3000) await sleep(5)
out.heardMs = { alice: heardAt.alice ? heardAt.alice - started : null, bob: heardAt.bob ? heardAt.bob - started : null }
await sleep(300) // time for a stray delivery of the other user's row to show up

// storage: each user's own folder in a private bucket
const folder = (name, file) => `${ids[name]}/${file}`
await step('aliceUpload', alice.storage.from(cfg.bucket).upload(folder('alice', 'note.txt'), new Blob(['alice notes'], { type: 'text/plain' }), { contentType: 'text/plain' }))
const downloaded = await alice.storage.from(cfg.bucket).download(folder('alice', 'note.txt'))
out.aliceDownload = { data: downloaded.data ? await downloaded.data.text() : null, error: downloaded.error?.message ?? null }
await step('aliceList', alice.storage.from(cfg.bucket).list(ids.alice))
await step('aliceForeignUpload', alice.storage.from(cfg.bucket).upload(folder('bob', 'x.txt'), Buffer.from('x'), { contentType: 'text/plain' }))
const stolen = await bob.storage.from(cfg.bucket).download(folder('alice', 'note.txt'))
out.bobDownloadsAlice = { data: stolen.data ? await stolen.data.text() : null, error: stolen.error ? String(stolen.error.statusCode ?? stolen.error.status ?? stolen.error.message) : null }
await step('bobList', bob.storage.from(cfg.bucket).list(ids.alice))

// sign out: the session is gone on both sides
for (const client of Object.values(users)) await client.removeAllChannels()
const spent = (await alice.auth.getSession()).data.session
await step('signOut', alice.auth.signOut())
out.sessionAfterSignOut = (await alice.auth.getSession()).data.session
await step('refreshAfterSignOut', alice.auth.refreshSession({ refresh_token: spent.refresh_token }))
await step('getUserAfterSignOut', alice.auth.getUser(spent.access_token))
await step('signInAgain', alice.auth.signInWithPassword({ email: 'alice@example.com', password: 'alice-pass' }))
await alice.auth.signOut()
await bob.auth.signOut()
// the application's server side: the service key pages through the users
const service = createClient(cfg.url, cfg.service_key, options)
await step('listUsers', service.auth.admin.listUsers({ page: 1, perPage: 2 }))
await step('listUsersLast', service.auth.admin.listUsers({ page: 2, perPage: 2 }))
await step('adminCreate', service.auth.admin.createUser({ email: 'dan@example.com', password: 'dan-pass', email_confirm: true, user_metadata: { team: 'a' } }))
const dan = out.adminCreate.data?.user?.id
await step('adminUpdate', service.auth.admin.updateUserById(dan, { app_metadata: { plan: 'pro' } }))
await step('adminGet', service.auth.admin.getUserById(dan))
await step('adminDelete', service.auth.admin.deleteUser(dan))
await step('adminGetDeleted', service.auth.admin.getUserById(dan))
await step('weakPassword', createClient(cfg.url, cfg.anon_key, options).auth.signUp({ email: 'weak@example.com', password: 'abc' }))

// password recovery: the application's backend receives the token by webhook and mails it;
// here the webhook receiver checks the signature and hands it straight to the client
const delivered = []
const hooks = createServer((req, res) => {
  let body = ''
  req.on('data', (chunk) => { body += chunk })
  req.on('end', () => {
    const signed = Object.fromEntries((req.headers['x-bkg-signature'] ?? '').split(',').map((p) => p.split('=')))
    const mac = createHmac('sha256', cfg.hook_secret).update(`${signed.t}.${body}`).digest('hex')
    const valid = signed.v1?.length === mac.length && timingSafeEqual(Buffer.from(signed.v1), Buffer.from(mac))
    if (valid) delivered.push(JSON.parse(body))
    res.writeHead(valid ? 204 : 401).end()
  })
})
await new Promise((resolve) => hooks.listen(cfg.hook_port, '127.0.0.1', resolve))
await step('recover', bob.auth.resetPasswordForEmail('bob@example.com', { redirectTo: 'http://app.test/reset' }))
const waitedHook = Date.now()
while (!delivered.some((d) => d.type === 'user.recovery_requested') && Date.now() - waitedHook < 5000) await sleep(10)
const recovery = delivered.find((d) => d.type === 'user.recovery_requested')?.data
await step('verifyRecovery', bob.auth.verifyOtp({ email: 'bob@example.com', token: recovery?.token, type: 'recovery' }))
await step('newPassword', bob.auth.updateUser({ password: 'bob-new-pass' }))
await step('signInNewPassword', createClient(cfg.url, cfg.anon_key, options).auth.signInWithPassword({ email: 'bob@example.com', password: 'bob-new-pass' }))
hooks.close()
out.events = events
console.log(JSON.stringify(out))
process.exit(0)
