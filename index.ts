// The Pulumi program: reads the stack config and creates the firewalls it declares.
export {};
