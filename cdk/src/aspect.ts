import { Annotations, CfnCondition, CfnResource, Duration, IAspect, RemovalPolicy, Stack, Token, aws_lambda as lambda } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { Row, asciiLower, intrinsic, isPlainObject, rowDecision, rows } from './needs';
import { Backing, ServiceLinkedRole } from './service-linked-role';

/** Properties of {@link ServiceLinkedRoles}. */
export interface ServiceLinkedRolesProps {
  /**
   * Services whose role is never added, as service principals (`ecs.amazonaws.com`) or role
   * names (`AWSServiceRoleForECS`), any case. A name no row of the table has is refused.
   * @default no service is left out
   */
  readonly exclude?: string[];
  /**
   * The only services whose role is added, named as in `exclude`. A service in both is left out.
   * @default every service the table has
   */
  readonly include?: string[];
  /**
   * What a stack deletion does to the roles added (see `ServiceLinkedRoleProps.removalPolicy`).
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * The propagation wait of the roles added (see `ServiceLinkedRoleProps.propagationWait`).
   * @default 60 seconds (the function's default)
   */
  readonly propagationWait?: Duration;
  /**
   * How CloudFormation reaches the stack's function. Not with `serviceToken`.
   * @default Backing.DIRECT
   */
  readonly backing?: Backing;
  /**
   * The architecture of the function the stack deploys. Not with `serviceToken`.
   * @default arm64 when this package carries an arm64 build of the function, else x86_64
   */
  readonly architecture?: lambda.Architecture;
  /**
   * The ARN of an upsert-slr function deployed already (see `ServiceLinkedRoleProps.serviceToken`),
   * e.g. `ServiceLinkedRoleFunction.importServiceToken()`: the stacks then deploy no function.
   * @default each stack deploys a function of its own, from this package
   */
  readonly serviceToken?: string;
}

/** The types that declare a service-linked role, as the macro counts them. */
const ROLE_TYPES = ['Custom::ServiceLinkedRole', 'AWS::CloudFormation::CustomResource', 'AWS::IAM::ServiceLinkedRole'];
/** Annotations' id, for `Annotations.acknowledgeWarning`. */
const UNDECIDED_WARNING = 'upsert-slr-cdk:undecidedCondition';

/** A service whose role a stack needs. */
interface Need {
  /** The first row that applies: its service and role name. */
  readonly row: Row;
  readonly needers: CfnResource[];
  /** The needers whose rows only the deployment decides, with the paths it must tell. */
  readonly undecided: Map<CfnResource, string[]>;
}

/**
 * Declares, in each stack it visits, a `ServiceLinkedRole` for each service whose role the
 * stack's resources need (the table slr-needs.json, which the upsert-slr macro also reads), and
 * makes each such resource depend on it. A stack that declares a role for that service already
 * (a `ServiceLinkedRole`, a `Custom::ServiceLinkedRole` or an `AWS::IAM::ServiceLinkedRole`)
 * gets none: its resources depend on that one.
 *
 * Add it to the app or to a stack: `Aspects.of(app).add(new ServiceLinkedRoles())`. It reads the
 * resources as they stand when aspects run, so resources added by later aspects are not seen.
 */
export class ServiceLinkedRoles implements IAspect {
  private readonly props: ServiceLinkedRolesProps;
  private readonly wanted: (service: string) => boolean;
  private readonly done = new WeakSet<Stack>();

  constructor(props: ServiceLinkedRolesProps = {}) {
    this.props = props;
    const exclude = new Set(servicesNamed(props.exclude, 'exclude'));
    const include = props.include === undefined ? undefined : new Set(servicesNamed(props.include, 'include'));
    this.wanted = (service) => !exclude.has(service) && (include === undefined || include.has(service));
  }

  public visit(node: IConstruct): void {
    // Only stacks: the roles added are new constructs, which this pass of the aspects may not visit.
    if (!Stack.isStack(node) || this.done.has(node)) return;
    this.done.add(node);
    const stack = node;
    const resources = stack.node
      .findAll()
      .filter((c): c is CfnResource => CfnResource.isCfnResource(c) && Stack.of(c) === stack);

    const declared = new Map<string, CfnResource>();
    for (const resource of resources) {
      const service = declaredService(resource);
      if (service !== undefined && !declared.has(service)) declared.set(service, resource);
    }

    // By service (in the order of the services' names), what needs its role.
    const needs = new Map<string, Need>();
    for (const resource of resources) {
      const applying = rows().filter((r) => r.resourceType === resource.cfnResourceType && this.wanted(asciiLower(r.service)));
      if (applying.length === 0) continue;
      const properties = renderedProperties(resource);
      for (const row of applying) {
        const service = asciiLower(row.service);
        const decision = rowDecision(row, properties);
        if (decision.verdict === 'fails') continue;
        const need: Need = needs.get(service) ?? { row, needers: [], undecided: new Map() };
        needs.set(service, need);
        if (!need.needers.includes(resource)) need.needers.push(resource);
        if (decision.verdict === 'undecided') need.undecided.set(resource, [...new Set(decision.unknown)]);
      }
    }

    for (const service of [...needs.keys()].sort()) {
      const { row, needers, undecided } = needs.get(service)!;
      for (const [resource, paths] of undecided) {
        Annotations.of(resource).addWarningV2(
          UNDECIDED_WARNING,
          `${resource.cfnResourceType} ${resource.node.path}: whether it needs the role of ${row.service} is known only at deployment ` +
            `(${paths.join(', ')} ${paths.length === 1 ? 'is a token' : 'are tokens'}); the role is added. ` +
            `Leave it out with new ServiceLinkedRoles({ exclude: ['${row.service}'] }) if it is not needed.`,
        );
      }
      // The resources of the service's dependent types wait for the role too.
      const dependentTypes = new Set(rows().filter((r) => asciiLower(r.service) === service).flatMap((r) => r.dependents));
      const dependents = resources.filter((r) => dependentTypes.has(r.cfnResourceType) && !needers.includes(r));
      const waiting = [...needers, ...dependents];
      let target = declared.get(service);
      if (target?.cfnOptions.condition !== undefined) {
        // A dependency on a resource that its condition may leave out fails the deployment.
        Annotations.of(stack).addInfo(
          `upsert-slr-cdk: ${pathsOf(needers)} need the role of ${row.service}; ${target.node.path} declares it under a condition, so no dependency was added`,
        );
        continue;
      }
      if (target === undefined) {
        const role = new ServiceLinkedRole(stack, freeId(stack, row.roleName), { ...this.roleProps(), awsServiceName: row.service });
        target = role.resource.node.defaultChild as CfnResource;
        const condition = sharedCondition(waiting);
        if (condition) target.cfnOptions.condition = condition;
        declared.set(service, target);
        const also = dependents.length ? `; ${pathsOf(dependents)} wait for it too` : '';
        Annotations.of(stack).addInfo(`upsert-slr-cdk: added ${role.node.path}, the role of ${row.service}, needed by ${pathsOf(needers)}${also}`);
      }
      for (const resource of waiting) {
        // That role waits for this resource: the user chose the order.
        if (target.obtainDependencies().includes(resource)) continue;
        dependOn(resource, target);
      }
    }
  }

  private roleProps() {
    const { removalPolicy, propagationWait, backing, architecture, serviceToken } = this.props;
    return { removalPolicy, propagationWait, backing, architecture, serviceToken };
  }
}

/** Lowercased service principals for `names` (principals or role names), or an error naming the unknown one. */
function servicesNamed(names: string[] | undefined, option: string): string[] {
  return (names ?? []).map((name) => {
    const wanted = name.trim().toLowerCase();
    const row = rows().find((r) => r.service.toLowerCase() === wanted || r.roleName.toLowerCase() === wanted);
    if (!row) {
      const known = [...new Set(rows().map((r) => r.service))].sort().join(', ');
      throw new Error(`ServiceLinkedRoles ${option}: ${JSON.stringify(name)} is not a service (or role name) the table has roles for: ${known}`);
    }
    return row.service.toLowerCase();
  });
}

/** The lowercased service a role resource declares, when it is one and names a plain string. */
function declaredService(resource: CfnResource): string | undefined {
  if (!ROLE_TYPES.includes(resource.cfnResourceType)) return undefined;
  const properties = renderedProperties(resource);
  const key = Object.keys(properties).find((k) => asciiLower(k) === 'awsservicename');
  const value = key === undefined ? undefined : properties[key];
  return typeof value === 'string' ? asciiLower(value.trim()) : undefined;
}

/**
 * A resource's Properties as the template will carry them: its properties resolved and rendered
 * (an L1's camelCase becomes CloudFormation's names), with its property overrides merged in, as
 * CfnResource does at synthesis.
 */
function renderedProperties(resource: CfnResource): Record<string, unknown> {
  const stack = Stack.of(resource);
  const internals = resource as unknown as {
    cfnProperties?: unknown;
    renderProperties?: (properties: unknown) => unknown;
    rawOverrides?: { Properties?: unknown };
  };
  const resolved = stack.resolve(internals.cfnProperties ?? {}) ?? {};
  const rendered = typeof internals.renderProperties === 'function' ? internals.renderProperties.call(resource, resolved) : resolved;
  const properties = isPlainObject(rendered) ? (JSON.parse(JSON.stringify(rendered)) as Record<string, unknown>) : {};
  mergeOverrides(properties, internals.rawOverrides?.Properties, stack);
  return properties;
}

/** CfnResource's deep merge of overrides: an intrinsic replaces what it overrides, `undefined` deletes. */
function mergeOverrides(target: Record<string, unknown>, overrides: unknown, stack: Stack): void {
  if (!isPlainObject(overrides) || Token.isUnresolved(overrides)) return;
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) {
      delete target[key];
    } else if (isPlainObject(value) && !Token.isUnresolved(value) && intrinsic(value) === undefined) {
      if (!isPlainObject(target[key]) || intrinsic(target[key]) !== undefined) target[key] = {};
      const merged = target[key] as Record<string, unknown>;
      mergeOverrides(merged, value, stack);
      if (Object.keys(merged).length === 0) delete target[key];
    } else {
      target[key] = stack.resolve(value);
    }
  }
}

/** `UpsertSlrECS` for AWSServiceRoleForECS; a number is added when the stack has that id. */
function freeId(stack: Stack, roleName: string): string {
  const base = `UpsertSlr${roleName.replace(/^AWSServiceRoleFor/, '').replace(/[^A-Za-z0-9]/g, '')}`;
  for (let n = 1; ; n++) {
    const id = n === 1 ? base : `${base}${n}`;
    if (!stack.node.tryFindChild(id)) return id;
  }
}

/** The condition every resource waiting for the role has, if they all have the same one: the role is then made only when they are. */
function sharedCondition(waiting: CfnResource[]): CfnCondition | undefined {
  const first = waiting[0]?.cfnOptions.condition;
  return first !== undefined && waiting.every((n) => n.cfnOptions.condition === first) ? first : undefined;
}

/** `needer` DependsOn `target`, through the method the installed aws-cdk-lib has not deprecated. */
function dependOn(needer: CfnResource, target: CfnResource): void {
  const newer = (needer as unknown as { addResourceDependency?: (t: CfnResource) => void }).addResourceDependency;
  if (typeof newer === 'function') newer.call(needer, target);
  else needer.addDependency(target);
}

function pathsOf(resources: CfnResource[]): string {
  return resources.map((r) => r.node.path).join(', ');
}
