// Package objects is the LwM2M object model of the gateway: it reads OMA object
// definition files (the LWM2M.xsd format of the OMA LwM2M registry: an <LWM2M>
// root, <Object> elements with <ObjectID>, <Name>, <ObjectURN>,
// <MultipleInstances>, <Mandatory> and <Resources><Item ID=".."> entries with
// <Operations>, <Type> and multiplicity) and keeps them in a Registry.
//
// LoadDir reads every *.xml file of a directory (DefaultDir, configs/lwm2m, by
// default; it ships objects 0-7 of LwM2M 1.1 TS Core Appendix E) once at start;
// errors name the file, the object and the resource. A Registry implements
// codec/lwm2m's Model, so the payload decoders type TLV, text/plain and JSON
// numbers by it: the codec imports nothing internal and learns resource types
// only through that one-method interface, which keeps the import direction
// lwm2m -> codec.
//
// A Registry is filled before it is shared and read-only afterwards, so its
// lookups need no lock.
package objects
