import type { Kysely, Selectable } from 'kysely';
import type {
  WorkPackage,
  WorkPackageFilter,
  WorkPackageReader,
  WorkPackageReturn,
  WorkPackageReturnBody,
  WorkPackageTx,
  WorkPackageVersion,
} from '../../core/ports/work-packages.js';
import type { WpState } from '../../core/work-packages/lifecycle.js';
import type { WorkPackageSpec } from '../../core/work-packages/model.js';
import { hashColumn, hashHex } from './hash-column.js';

/** Table shapes as stored: the spec as JSON text, the hash as bytes. */
export interface WorkPackageTables {
  work_packages: {
    tenant_id: string;
    id: string;
    /** The number in the ID, for ordering and paging. */
    seq: number;
    version: number;
    state: string;
    held_from: string | null;
    role: string;
    title: string;
    booked_by: string;
    claimed_by: string | null;
    created_at: string;
    updated_at: string;
  };
  work_package_versions: {
    tenant_id: string;
    wp_id: string;
    version: number;
    spec: string;
    hash: Uint8Array | string;
    booked_by: string;
    booked_at: string;
  };
  work_package_returns: {
    tenant_id: string;
    wp_id: string;
    wp_version: number;
    n: number;
    kind: string;
    body: string;
    hash: Uint8Array | string;
    returned_by: string;
    returned_at: string;
  };
}

type Db = Kysely<WorkPackageTables>;

const seqOf = (id: string): number => Number(id.slice(id.lastIndexOf('_') + 1));

function toWorkPackage(r: Selectable<WorkPackageTables['work_packages']>): WorkPackage {
  return {
    tenant_id: r.tenant_id,
    id: r.id,
    version: Number(r.version),
    state: r.state as WpState,
    held_from: r.held_from as WpState | null,
    role: r.role,
    title: r.title,
    booked_by: r.booked_by,
    claimed_by: r.claimed_by,
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

export class KyselyWorkPackageReader implements WorkPackageReader {
  protected readonly db: Db;

  /** `db` is the store's transaction handle; these tables are typed here, not in schema.ts. */
  constructor(
    db: object,
    protected readonly dialect: 'sqlite' | 'postgres',
  ) {
    this.db = db as Db;
  }

  async getWorkPackage(tenant_id: string, id: string): Promise<WorkPackage | undefined> {
    const row = await this.db
      .selectFrom('work_packages')
      .selectAll()
      .where('tenant_id', '=', tenant_id)
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? toWorkPackage(row) : undefined;
  }

  async getWorkPackageVersion(
    tenant_id: string,
    id: string,
    version: number,
  ): Promise<WorkPackageVersion | undefined> {
    const r = await this.db
      .selectFrom('work_package_versions')
      .selectAll()
      .where('tenant_id', '=', tenant_id)
      .where('wp_id', '=', id)
      .where('version', '=', version)
      .executeTakeFirst();
    if (!r) return undefined;
    return {
      tenant_id: r.tenant_id,
      wp_id: r.wp_id,
      version: Number(r.version),
      spec: JSON.parse(r.spec) as WorkPackageSpec,
      hash: hashHex(r.hash),
      booked_by: r.booked_by,
      booked_at: r.booked_at,
    };
  }

  async listWorkPackages(tenant_id: string, f: WorkPackageFilter): Promise<WorkPackage[]> {
    let q = this.db.selectFrom('work_packages').selectAll().where('tenant_id', '=', tenant_id);
    if (f.state !== undefined) q = q.where('state', '=', f.state);
    if (f.role !== undefined) q = q.where('role', '=', f.role);
    if (f.after !== undefined) q = q.where('seq', '>', seqOf(f.after));
    const rows = await q.orderBy('seq').limit(f.limit).execute();
    return rows.map(toWorkPackage);
  }

  async listReturns(tenant_id: string, wp_id: string): Promise<WorkPackageReturn[]> {
    const rows = await this.db
      .selectFrom('work_package_returns')
      .selectAll()
      .where('tenant_id', '=', tenant_id)
      .where('wp_id', '=', wp_id)
      .orderBy('n')
      .execute();
    return rows.map((r) => ({
      ...({ kind: r.kind, body: JSON.parse(r.body) as unknown } as WorkPackageReturnBody),
      tenant_id: r.tenant_id,
      wp_id: r.wp_id,
      wp_version: Number(r.wp_version),
      n: Number(r.n),
      hash: hashHex(r.hash),
      returned_by: r.returned_by,
      returned_at: r.returned_at,
    }));
  }
}

export class KyselyWorkPackageTx extends KyselyWorkPackageReader implements WorkPackageTx {
  async lockWorkPackage(tenant_id: string, id: string): Promise<WorkPackage | undefined> {
    let q = this.db
      .selectFrom('work_packages')
      .selectAll()
      .where('tenant_id', '=', tenant_id)
      .where('id', '=', id);
    if (this.dialect === 'postgres') q = q.forUpdate();
    const row = await q.executeTakeFirst();
    return row ? toWorkPackage(row) : undefined;
  }

  async insertWorkPackage(wp: WorkPackage, v: WorkPackageVersion): Promise<void> {
    await this.db
      .insertInto('work_packages')
      .values({ ...wp, seq: seqOf(wp.id) })
      .execute();
    await this.db
      .insertInto('work_package_versions')
      .values({ ...v, spec: JSON.stringify(v.spec), hash: hashColumn(v.hash) })
      .execute();
  }

  async updateWorkPackage(
    tenant_id: string,
    id: string,
    change: Pick<WorkPackage, 'state' | 'held_from' | 'claimed_by' | 'updated_at'>,
  ): Promise<void> {
    await this.db
      .updateTable('work_packages')
      .set(change)
      .where('tenant_id', '=', tenant_id)
      .where('id', '=', id)
      .execute();
  }

  async insertReturn(r: WorkPackageReturn): Promise<void> {
    await this.db
      .insertInto('work_package_returns')
      .values({
        tenant_id: r.tenant_id,
        wp_id: r.wp_id,
        wp_version: r.wp_version,
        n: r.n,
        kind: r.kind,
        body: JSON.stringify(r.body),
        hash: hashColumn(r.hash),
        returned_by: r.returned_by,
        returned_at: r.returned_at,
      })
      .execute();
  }
}
