// The supabase-js scenario against a running `bkgdb serve`: tests/rest/test_supabase_js.py
// installs the pinned client (package.json, package-lock.json) into a cache directory, copies
// this script beside it, runs `node --experimental-websocket scenario.mjs CONFIG_JSON` and
// asserts on the one JSON object printed: every step's {data, error, count, status}.
//
// CONFIG_JSON: {"url", "schema", "service_key", "user_token", "anon_key" (or null)}.
import { createClient } from '@supabase/supabase-js'

const config = JSON.parse(process.argv[2])
const options = { db: { schema: config.schema }, auth: { persistSession: false, autoRefreshToken: false } }

function client(key, bearer) {
  const extra = bearer ? { global: { headers: { Authorization: `Bearer ${bearer}` } } } : {}
  return createClient(config.url, key, { ...options, ...extra })
}

function outcome({ data, error, count, status }) {
  return { data: data ?? null, error: error ? { code: error.code, message: error.message } : null, count: count ?? null, status }
}

const service = client(config.service_key)
const steps = {}
async function step(name, query) {
  steps[name] = outcome(await query)
}

// Reads with every kind of filter.
await step('eq', service.from('books').select('id').eq('author_id', 1).order('id'))
await step('neq', service.from('books').select('id').neq('author_id', 1).order('id'))
await step('gt_lte', service.from('books').select('id').gt('pages', 100).lte('pages', 400).order('id'))
await step('gte_lt', service.from('books').select('id').gte('id', 2).lt('id', 4).order('id'))
await step('like', service.from('books').select('title').like('title', '%Ring%').order('id'))
await step('ilike', service.from('books').select('title').ilike('title', '%the%').order('id'))
await step('is_null', service.from('books').select('id').is('pages', null))
await step('in', service.from('books').select('id').in('id', [1, 3, 5]).order('id'))
await step('not', service.from('books').select('id').not('pages', 'is', null).order('id'))
await step('or', service.from('books').select('id').or('id.eq.1,pages.gt.500').order('id'))
await step('match', service.from('books').select('id').match({ author_id: 1, pages: 300 }))
await step('contains', service.from('authors').select('id').contains('meta', { country: 'UK' }).order('id'))
await step('text_search', service.from('books').select('id').textSearch('title', 'lord'))

// Order, range and count.
await step('order_desc', service.from('books').select('id').order('pages', { ascending: false, nullsFirst: false }))
await step('range_count', service.from('books').select('id', { count: 'exact' }).order('id').range(0, 1))
await step('head_count', service.from('books').select('*', { count: 'exact', head: true }))

// Embedded resources, both directions, and !inner.
await step('embed_many_to_one', service.from('books').select('title, authors(name)').eq('id', 1))
await step('embed_one_to_many', service.from('authors').select('name, books(title)').eq('id', 2).order('id', { referencedTable: 'books' }))
await step('embed_inner', service.from('authors').select('name, books!inner(id)').eq('books.pages', 300))

// Singular objects.
await step('single', service.from('authors').select('id, name').eq('id', 1).single())
await step('single_none', service.from('authors').select('id').eq('id', 999).single())
await step('maybe_single_none', service.from('authors').select('id').eq('id', 999).maybeSingle())

// Writes, with and without returning.
await step('insert_minimal', service.from('authors').insert({ id: 10, name: 'Ursula', meta: {} }))
await step('insert_returning', service.from('authors').insert([{ id: 11, name: 'Iain', meta: {} }, { id: 12, name: 'Ann', meta: {} }]).select('id, name'))
await step('insert_duplicate', service.from('authors').insert({ id: 10, name: 'again', meta: {} }))
await step('upsert_returning', service.from('authors').upsert({ id: 10, name: 'Ursula K.', meta: {} }).select('id, name'))
await step('upsert_ignore', service.from('authors').upsert({ id: 11, name: 'ignored', meta: {} }, { ignoreDuplicates: true }).select())
await step('update_returning', service.from('authors').update({ name: 'Iain M.' }).eq('id', 11).select('id, name'))
await step('update_minimal', service.from('authors').update({ name: 'Ann L.' }).eq('id', 12))
await step('delete_returning', service.from('authors').delete().eq('id', 12).select('id'))
await step('delete_minimal', service.from('authors').delete().in('id', [10, 11]))
await step('after_writes', service.from('authors').select('id').gte('id', 10))
await step('unknown_table', service.from('nope').select())

// Row-level security as a user: own rows only, a foreign owner refused.
const user = client(config.anon_key ?? config.service_key, config.user_token)
await step('user_select', user.from('todos').select('id, owner').order('id'))
await step('user_insert_own', user.from('todos').insert({ id: 20, owner: 'alice', title: 'mine' }).select('id'))
await step('user_insert_foreign', user.from('todos').insert({ id: 21, owner: 'bob', title: 'not mine' }))
await step('user_update_foreign', user.from('todos').update({ title: 'stolen' }).eq('id', 3).select())
await step('user_delete_own', user.from('todos').delete().eq('id', 20).select('id'))

// The anon key: RLS with role anon (a policy lets anon read shared todos only).
if (config.anon_key) {
  const anon = client(config.anon_key)
  await step('anon_select', anon.from('todos').select('id').order('id'))
  await step('anon_insert', anon.from('todos').insert({ id: 22, owner: 'anon', title: 'x' }))
}

process.stdout.write(JSON.stringify(steps) + '\n')
