// supabase-js realtime against bkg-db: postgres_changes under RLS for two users, broadcast
// and presence between two clients. Prints one JSON line with what each client saw.
import { createClient } from '@supabase/supabase-js'

const cfg = JSON.parse(process.argv[2])
const out = { states: {}, rows: { alice: [], bob: [] }, payloads: [], broadcast: [], presence: [] }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

async function subscribed(channel, name) {
  return new Promise((resolve) => {
    channel.subscribe((status, err) => {
      out.states[name] = out.states[name] ?? status + (err ? ': ' + err.message : '')
      if (status !== 'SUBSCRIBED' && status !== 'CLOSED') resolve(status)
      if (status === 'SUBSCRIBED') resolve(status)
    })
  })
}

async function sql(statement) {
  const res = await fetch(cfg.url + '/query', {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + cfg.admin_key, 'Content-Type': 'application/json' },
    body: JSON.stringify({ sql: statement }),
  })
  if (res.status !== 200) throw new Error(await res.text())
}

const clients = {}
for (const name of ['alice', 'bob']) {
  const client = createClient(cfg.url, cfg.anon_key)
  client.realtime.setAuth(cfg[name])
  clients[name] = client
  const channel = client
    .channel('todos-' + name)
    .on('postgres_changes', { event: '*', schema: 'public', table: 'todos' }, (p) => {
      out.rows[name].push(p.new.id ?? p.old.id)
      out.payloads.push({ who: name, eventType: p.eventType, new: p.new, old: p.old,
        schema: p.schema, table: p.table, commit_timestamp: p.commit_timestamp })
    })
  await subscribed(channel, 'todos-' + name)
}
const started = Date.now()
await sql(`INSERT INTO public.todos (id, owner, title) VALUES (${cfg.ids[0]}, 'alice', 'js'), (${cfg.ids[1]}, 'bob', 'js')`)
await sql(`UPDATE public.todos SET done = true WHERE id = ${cfg.ids[0]}`)
while (out.rows.alice.length < 2 && Date.now() - started < 3000) await sleep(10)
out.first_ms = Date.now() - started
await sleep(300)

const one = clients.alice.channel('room', { config: { broadcast: { self: false, ack: true }, presence: { key: 'alice' } } })
const two = clients.bob.channel('room', { config: { presence: { key: 'bob' } } })
two.on('broadcast', { event: 'hello' }, (m) => out.broadcast.push(m.payload))
two.on('presence', { event: 'sync' }, () => { out.presence.push(Object.keys(two.presenceState()).sort()) })
one.on('presence', { event: 'sync' }, () => {})
await subscribed(one, 'room-alice')
await subscribed(two, 'room-bob')
out.ack = await one.send({ type: 'broadcast', event: 'hello', payload: { n: 1 } })
await one.track({ online: true })
const waited = Date.now()
while ((out.broadcast.length < 1 || !out.presence.some((k) => k.includes('alice'))) && Date.now() - waited < 3000) await sleep(10)
for (const client of Object.values(clients)) await client.removeAllChannels()
console.log(JSON.stringify(out))
process.exit(0)
